"""The transcode stage's promises, end to end: pass-through is byte-identical,
an AVI reaches X as H.264/AAC MP4, X's per-account length cap is read from X
and enforced before any upload, a hostile file reads nothing outside itself,
and a killed transcode leaves no encoder and no temporary file behind."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from tests.support.media import make_clip

pytestmark = pytest.mark.e2e


def _push_x(client, user, url):
    resp = client.push_twitter_video(user["identity"], url)
    assert resp.status_code == 200, resp.text
    return resp.json()["response"]["result"]["data"]["request_token"]


def _uploads_of(fake_x, user) -> list:
    return [m for m in fake_x.state.media.values() if m.owner == user["user_id"]]


def test_an_mp4_that_fits_x_arrives_byte_identical(client, x_user, origin, fake_x):
    clip = make_clip("mpeg4", seconds=2.0)
    final = client.wait_final(_push_x(client, x_user, origin.add("fits.mp4", clip)))
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    assert final["audit"]["media"]["decision"]["action"] == "pass"
    item = fake_x.state.media[final["provider_ids"]["media_id"]]
    assert item["sha256"] == hashlib.sha256(clip).hexdigest()
    assert "transcoding" in [t["to"] for t in final["audit"]["transitions"]]


def test_an_avi_arrives_at_x_as_h264_aac_mp4(client, x_user, origin, fake_x):
    clip = make_clip("avi")
    final = client.wait_final(_push_x(client, x_user, origin.add("old.avi", clip)))
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    media = final["audit"]["media"]
    assert media["decision"]["action"] == "transcode" and media["percent"] == 100.0
    assert any("avi container" in why for why in media["decision"]["why"])
    item = fake_x.state.media[final["provider_ids"]["media_id"]]
    assert item["media_type"] == "video/mp4" and item["sha256"] != hashlib.sha256(clip).hexdigest()
    assert item.probe["container"].startswith("mov,mp4") and item.probe["brand"] != "3gp4"
    assert (item.probe["video"]["codec"], item.probe["video"]["pix_fmt"]) == ("h264", "yuv420p")
    assert (item.probe["audio"]["codec"], item.probe["audio"]["profile"]) == ("aac", "LC")
    transcode = [s for s in final["audit"]["stages"] if s["stage"] == "transcode"]
    assert [s["outcome"] for s in transcode] == ["succeeded"]


@pytest.fixture(scope="module")
def long_clip() -> bytes:
    """21:40 of a 32x32 picture at 1 fps (X's default cap is 20 minutes): cheap to make."""
    return make_clip("mpeg4", seconds=1300, size="32x32", fps=1,
                     codecs=("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an"))


def test_a_video_over_the_accounts_x_limit_is_refused_before_any_upload(client, x_user, origin, fake_x, long_clip):
    final = client.wait_final(_push_x(client, x_user, origin.add("long.mp4", long_clip)))
    assert final["state"] == "failed"
    assert final["error"]["reason"] == "video_too_long"
    assert final["error"]["info"] == "X lets this account post videos of at most 20 minutes; this one lasts 21:40."
    assert _uploads_of(fake_x, x_user) == [], "nothing reached X"
    assert final["audit"]["media"]["account_tier"]["tier"] == "default"


def test_an_x_premium_account_gets_the_longer_limit(client, x_user, origin, fake_x, long_clip):
    fake_x.state.users[x_user["user_id"]]["subscription_type"] = "Premium"
    final = client.wait_final(_push_x(client, x_user, origin.add("long-premium.mp4", long_clip)))
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    assert final["audit"]["media"]["account_tier"] == {"tier": "premium", "subscription_type": "Premium",
                                                       "verified_type": "none"}


def _hostile_avi(playlist: bytes) -> bytes:
    """An AVI whose only stream is a GAB2 subtitle carrying an HLS playlist (the
    known FFmpeg local-file-read trick), padded with empty video chunks."""
    avih = struct.pack("<10I4I", 40000, 0, 0, 0x10, 125, 0, 2, 0, 224, 160, 0, 0, 0, 0)
    strh = b"txts" + b"\x00" * 4 + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, 25, 0, 125, 902, 10000, 0,
                                                0, 0, 224, 160)
    strf = struct.pack("<IiiHHI", 40, 224, 160, 1, 24, 0) + b"XVID" + struct.pack("<IiiII", 0x348, 0, 0, 0, 0)
    strl = b"LIST" + struct.pack("<I", 4 + 8 + len(strh) + 8 + len(strf)) + b"strl" + \
        b"strh" + struct.pack("<I", len(strh)) + strh + b"strf" + struct.pack("<I", len(strf)) + strf
    hdrl = b"hdrl" + b"avih" + struct.pack("<I", len(avih)) + avih + strl
    content = b"GAB2\x00\x02\x00" + b"\x00" * 10 + playlist
    movi = b"00tx" + struct.pack("<I", len(content)) + content + (b"00dc" + struct.pack("<I", 200) + b"\x00" * 200) * 50
    body = b"AVI " + b"LIST" + struct.pack("<I", len(hdrl)) + hdrl + b"LIST" + struct.pack("<I", 4 + len(movi)) + \
        b"movi" + movi
    return b"RIFF" + struct.pack("<I", len(body)) + body


class Canary:
    """A FIFO and a TCP port that record any attempt to read them."""

    def __init__(self, folder: Path):
        self.fifo = folder / "secret.ts"
        os.mkfifo(self.fifo)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.touched: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stop.is_set():
            try:  # a writer can open a FIFO without blocking only while a reader has it open
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                self.touched.append("fifo")
                os.close(fd)
            except OSError as exc:
                assert exc.errno == errno.ENXIO
            try:
                conn, _ = self.sock.accept()
                self.touched.append("tcp")
                conn.close()
            except (socket.timeout, OSError):
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def test_a_hostile_avi_is_refused_and_reads_nothing_outside_itself(client, x_user, origin, fake_x, tmp_path):
    canary = Canary(tmp_path)
    playlist = (f"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nfile://{canary.fifo}\n#EXTINF:1.0,\n"
                f"{canary.fifo}\n#EXTINF:1.0,\nhttp://127.0.0.1:{canary.port}/leak.ts\n#EXT-X-ENDLIST\n").encode()
    try:
        final = client.wait_final(_push_x(client, x_user, origin.add("hostile.avi", _hostile_avi(playlist))))
        time.sleep(0.5)
    finally:
        canary.close()
    assert final["state"] == "failed", json.dumps(final, indent=1)
    assert final["error"]["reason"] == "video_unreadable"
    assert final["audit"]["media"]["probe"]["format"] == "avi"
    assert canary.touched == [], "the encoder reached outside the staged file"
    assert _uploads_of(fake_x, x_user) == []


def _encoders_in(folder: Path) -> list[int]:
    """Pids of processes whose working directory is inside ``folder`` (our encoders)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd").startswith(str(folder)):
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def test_a_killed_transcode_leaves_no_encoder_and_no_temporary_file(client, x_user, origin, redis_stack):
    root = Path(redis_stack.env["PUSHWIRE_TRANSCODE_DIR"])
    clip = make_clip("avi", seconds=40, size="640x480", fps=25)  # several seconds of encoding
    token = _push_x(client, x_user, origin.add("slow.avi", clip))
    deadline, encoders, seen = time.time() + 120, [], {}
    while time.time() < deadline and not (encoders and seen.get("percent")):
        encoders = _encoders_in(root / token)
        status = client.status(token)
        seen = {"state": status["state"], **(status["audit"]["media"] or {})}
        time.sleep(0.2)
    assert encoders, "the transcode never started"
    assert seen["state"] == "transcoding" and 0 < seen["percent"] < 100, seen
    worker_child = _ppid(encoders[0])
    os.kill(worker_child, signal.SIGTERM)  # what `celery control revoke --terminate` sends
    deadline = time.time() + 30
    while time.time() < deadline and (_alive(encoders[0]) or (root / token).exists()):
        time.sleep(0.1)
    assert not _alive(encoders[0]), "the encoder outlived its task"
    assert not (root / token).exists(), "temporary files were left behind"
    # The task is redelivered (acks late) and starts clean.
    final = client.wait_final(token, timeout=240)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    outcomes = [s["outcome"] for s in final["audit"]["stages"] if s["stage"] == "transcode"]
    assert outcomes[-1] == "succeeded" and len(outcomes) >= 2
    assert not (root / token).exists()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
