"""Issue rows 1-3 in-process: every read from an outside party is bounded in size and time."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from app.config import Settings
from app.net import (OutboundPolicy, Transfer, TransferTimeout, download_transfer, iter_bounded,
                     read_at_most, safe_request)
from app.providers.base import ProviderAdapter
from app.providers.errors import TransientError

POLICY = OutboundPolicy.from_setting("127.0.0.1")
GB = 1024 ** 3


def _post(url, transfer):
    return safe_request("POST", url, policy=POLICY, data=b"{}", stream=True, transfer=transfer,
                        headers={"Accept-Encoding": "identity"})


def test_a_3gb_answer_is_read_up_to_4kb_and_dropped(peer):
    started = time.monotonic()
    with Transfer(15, reason="callback_timeout") as transfer:
        with _post(f"{peer.url}/huge?size={3 * GB}", transfer) as resp:
            head = read_at_most(resp, 4096, transfer)
    assert resp.status_code == 200 and len(head) == 4096
    time.sleep(0.3)
    assert peer.sent["/huge"] < 64 * 1024 * 1024, "the rest of the 3 GB was never asked for"
    assert time.monotonic() - started < 5


def test_a_gzip_answer_is_never_decompressed(peer):
    with Transfer(15, reason="callback_timeout") as transfer:
        with _post(f"{peer.url}/gzip?members=2000", transfer) as resp:
            head = read_at_most(resp, 4096, transfer)
    assert head[:2] == b"\x1f\x8b", "raw gzip bytes, not 4 GB of zeros"
    assert peer.requests[-1]["headers"]["accept-encoding"] == "identity"


@pytest.mark.parametrize("path", ["/drip?every=0.3", "/drip-headers?every=0.3"])
def test_a_drip_ends_at_the_total_deadline_not_per_read(peer, path):
    started = time.monotonic()
    with pytest.raises(TransferTimeout) as err:
        with Transfer(1.5, reason="callback_timeout", what="the callback receiver") as transfer:
            with _post(peer.url + path, transfer) as resp:
                read_at_most(resp, 4096, transfer)
    took = time.monotonic() - started
    assert err.value.reason == "callback_timeout" and "within 1.5 s" in str(err.value)
    assert 1.4 < took < 2.2, took  # each read (0.3 s apart) was well within any per-read timeout


def _settings(**kw) -> Settings:
    return Settings(**{"download_min_bytes": 4096, "download_rate_window": 1.0,
                       "download_deadline_base": 30.0, "download_deadline_speed": 1e12, **kw})


def _download(url, transfer):
    with transfer:
        with safe_request("GET", url, policy=POLICY, stream=True, transfer=transfer) as resp:
            return sum(len(c) for c in iter_bounded(resp, transfer, 1 << 20))


def test_a_dripping_source_is_too_slow_after_one_window(peer):
    started = time.monotonic()
    with pytest.raises(TransferTimeout) as err:
        _download(f"{peer.url}/video-drip?every=0.2", download_transfer(_settings(), 512 * 1024 * 1024))
    assert err.value.reason == "source_too_slow" and "fewer than the minimum of 4096" in str(err.value)
    assert time.monotonic() - started < 2.0


def test_a_steady_source_still_meets_the_overall_deadline(peer):
    # 40 KB/s passes the minimum rate, but the file may take at most base + cap/speed seconds.
    transfer = download_transfer(_settings(download_deadline_base=1.0, download_deadline_speed=1e6), 1_000_000)
    assert transfer.total == pytest.approx(2.0)
    started = time.monotonic()
    with pytest.raises(TransferTimeout) as err:
        _download(f"{peer.url}/video-steady?bytes=8192&every=0.2", transfer)
    assert err.value.reason == "source_too_slow" and "within 2 s" in str(err.value)
    assert 1.9 < time.monotonic() - started < 2.8


def test_a_fast_source_is_read_whole(peer):
    assert _download(f"{peer.url}/video?size=3000000", download_transfer(_settings(), 10_000_000)) == 3_000_000


def _raw_server(script):
    """One-connection server running ``script(conn)``; returns its URL."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def run():
        conn, _ = srv.accept()
        conn.recv(65536)
        try:
            script(conn)
        finally:
            conn.close()
            srv.close()

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}"


@pytest.mark.parametrize("stall", [True, False])
def test_a_provider_answer_that_stalls_or_is_cut_mid_chunk_is_retried_like_a_reset(stall):
    def script(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n4\r\nab")
        if stall:
            time.sleep(2)

    adapter = ProviderAdapter(_raw_server(script), timeout=0.5)
    adapter.name = "twitter"
    with pytest.raises(TransientError) as err:
        adapter.request("GET", "/2/tweets")
    assert err.value.reason == "provider_unreachable"



def test_a_source_that_compresses_anyway_is_never_inflated(peer):
    # 2,000 gzip members of 1 MiB of zeros each: 2 GB once inflated, ~2 MB as sent.
    transfer = download_transfer(_settings(), 64 * 1024 * 1024)
    with transfer:
        with safe_request("GET", f"{peer.url}/gzip?members=2000", policy=POLICY, stream=True, transfer=transfer,
                          headers={"Accept-Encoding": "identity"}) as resp:
            chunks = list(iter_bounded(resp, transfer, 1 << 20))
    assert chunks[0][:2] == b"\x1f\x8b" and sum(map(len, chunks)) < 4 * 1024 * 1024
