"""Push one YouTube video through a running stack and wait for its outcome (shared by
``bench.memory`` and ``bench.pipeline``)."""

from __future__ import annotations

import time

MB = 1024 * 1024


def push_video(env, client, identity: str, size: int, seed: int = 0) -> str:
    """Submit a ``youtube/video.json`` push of a generated ``size``-byte video; returns its token."""
    body = {"request": {"push": {"video": {"video_url": env.origin.url_for(size, seed), "title": "bench video",
                                           "privacy_status": "private"}}}}
    resp = client.post(f"/push/identities/{identity}/youtube/video.json", body)
    assert resp.status_code in (200, 202), resp.text
    return resp.json()["response"]["result"]["data"]["request_token"]


def wait_video(env, token: str, timeout: float) -> dict:
    """Block until the request has an outcome; returns timings in seconds (total, stage, upload)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = env.sql("select id, outcome, error_info, extract(epoch from finished_at - created_at) "
                      "from push_requests where token = :t", t=token)
        if row and row[0][1]:
            break
        time.sleep(0.1)
    else:
        raise TimeoutError(f"video {token} not finished in {timeout:.0f}s")
    request_id, outcome, error, total = row[0]
    if outcome != "succeeded":
        raise RuntimeError(f"video push {token} {outcome}: {error}")
    stages = dict(env.sql("select stage, extract(epoch from max(ended_at) - min(started_at)) from stage_attempts "
                          "where request_id = :i group by stage", i=request_id))
    return {"total": float(total), "stage": float(stages.get("stage") or 0), "upload": float(stages.get("upload") or 0)}


def run_video(env, client, identity: str, size: int, seed: int = 0, timeout: float = 900) -> dict:
    token = push_video(env, client, identity, size, seed)
    return wait_video(env, token, timeout)
