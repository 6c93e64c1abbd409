"""The X adapter against the strict fake served in-process (no mocks of our code)."""

from __future__ import annotations

import os
import struct
import zlib

import pytest

from app.providers.base import PushContext, StagedMedia
from app.providers.errors import Misconfigured, ProviderError, ReconnectRequired
from app.providers.twitter import TwitterAdapter
from app.staging import open_store
from sandbox.twitter import create_app
from tests.support.fakes import served

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + os.urandom(200)


@pytest.fixture(scope="module")
def server():
    yield from served(create_app(check_after_secs=0, processing_polls=1))


@pytest.fixture()
def fake(server):
    server.state.reset()
    return server.state


@pytest.fixture()
def adapter(server):
    return TwitterAdapter(server.url, client_id="sandbox-client", client_secret="sandbox-secret", timeout=10,
                          chunk_size=1024 * 1024)


@pytest.fixture()
def user(fake):
    return fake.add_user("1001", "alice")


def ctx_for(user, kind: str, **payload) -> PushContext:
    ctx = PushContext(request_token="t", kind=kind, payload=payload, access_token=user["access_token"],
                      provider_user_id=user["user_id"], profile={})
    ctx.saved = []
    ctx.save_progress = lambda progress: ctx.saved.append(dict(progress))
    return ctx


def picture_ctx(user, data: bytes, fmt: str, **payload) -> PushContext:
    ctx = ctx_for(user, "picture", url="https://origin.example/p", **payload)
    ctx.download = lambda url, max_bytes: (data, fmt) if len(data) <= max_bytes else pytest.fail(
        f"download refused: {len(data)} bytes over the adapter's {max_bytes}")
    return ctx


def video_ctx(user, tmp_path, data: bytes) -> PushContext:
    store = open_store(f"file://{tmp_path}/staging")
    store.write("v.mp4", [data])
    ctx = ctx_for(user, "video", video_url="https://origin.example/v.mp4")
    ctx.staged = StagedMedia(store, "v.mp4", len(data), "mpeg4", "video/mp4")
    return ctx


# --------------------------------------------------------------------------- tokens (item 11)


def test_refused_client_is_the_operators_problem(server, fake, user):
    bad = TwitterAdapter(server.url, client_id="sandbox-client", client_secret="rotated", timeout=10)
    with pytest.raises(ProviderError) as err:
        bad.refresh(user["refresh_token"])
    assert err.value.reason == "provider_misconfigured" and isinstance(err.value, Misconfigured)
    assert "PUSHWIRE_TWITTER_CLIENT_SECRET" in err.value.info


def test_refused_refresh_token_needs_the_user(adapter, fake, user):
    fake.revoke_refresh(user["refresh_token"])
    with pytest.raises(ReconnectRequired) as err:
        adapter.refresh(user["refresh_token"])
    assert err.value.reason == "reconnect_required" and "reconnect" in err.value.info
