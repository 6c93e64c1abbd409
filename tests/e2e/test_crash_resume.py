"""A worker killed mid-upload: the redelivered task resumes from the provider's offset."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time

import pytest

from tests.support.origin import make_video

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


def _pool_children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_sigkill_mid_upload_resumes_from_acknowledged_segment(redis_stack, client, x_user, origin, fake_x):
    size = 8 * MB + 1234
    video = make_video(size, seed=4242)
    fake_x.state.faults.add("append", "slow", count=9, delay=0.6)
    resp = client.push_twitter_video(x_user["identity"], origin.add("crash.mp4", video))
    token = resp.json()["response"]["result"]["data"]["request_token"]

    media_id = None
    deadline = time.time() + 60
    while time.time() < deadline:
        mine = [m for m_id, m in fake_x.state.media.items() if m["total_bytes"] == size]
        if mine and len(mine[0]["segments"]) >= 3:
            media_id = next(m_id for m_id, m in fake_x.state.media.items() if m["total_bytes"] == size)
            break
        time.sleep(0.1)
    assert media_id, "the upload never got going"
    for child in _pool_children(redis_stack.procs["worker"].pid):
        os.kill(child, signal.SIGKILL)  # whichever pool process runs the upload dies with it

    final = client.wait_final(token, timeout=120)
    assert final["state"] == "succeeded", final
    assert final["provider_ids"]["media_id"] == media_id, "resumed the same media, not a new upload"
    assert fake_x.state.media[media_id]["sha256"] == hashlib.sha256(video).hexdigest()
    assert sum(1 for m in fake_x.state.media.values() if m["total_bytes"] == size) == 1
    assert fake_x.state.append_calls(media_id) <= 9 + 1, "only the segment in flight is sent again"
    uploads = [a["outcome"] for a in final["audit"]["stages"] if a["stage"] == "upload"]
    assert uploads[0] == "interrupted" and uploads[-1] == "succeeded"
