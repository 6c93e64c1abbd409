"""``pushwire push video --wait`` and ``pushwire requests show`` as subprocesses against the stack."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess

import pytest

from tests.support.origin import make_video
from tests.support.stack import BIN, ROOT

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


def run(redis_stack, site, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **redis_stack.env, "PUSHWIRE_API_URL": redis_stack.url,
           "PUSHWIRE_PUBLIC_KEY": site["public_key"], "PUSHWIRE_PRIVATE_KEY": site["private_key"]}
    return subprocess.run([str(BIN / "pushwire"), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_push_video_waits_with_progress_then_timeline(redis_stack, site, make_identity, origin, receiver):
    user = make_identity("twitter")
    url = origin.add("cli-ok.mp4", make_video(3 * MB, seed=51))
    out = run(redis_stack, site, "push", "video", "--identity", user["identity"], "--provider", "twitter",
              "--url", url, "--callback-url", receiver.url, "--wait")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["state"] == "succeeded" and result["provider_ids"]["media_id"]
    assert "100.0% succeeded" in out.stderr and "[" + "#" * 30 + "]" in out.stderr
    token = out.stderr.split("request_token: ")[1].split()[0]

    shown = run(redis_stack, site, "requests", "show", token)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert f"request  {token}" in text and "state: succeeded" in text
    assert "stage    #1  succeeded" in text and "upload   #1  succeeded" in text and "3.0 MB" in text
    assert "delivered" in text and "status 204" in text
    assert "transitions: queued ->" in text and text.rstrip().endswith("succeeded")


def test_failed_push_exits_nonzero_and_shows_the_reason(redis_stack, site, make_identity, origin):
    user = make_identity("twitter")
    url = origin.add("cli-bad.mp4", b"<html>not a video</html>" * 40)
    out = run(redis_stack, site, "push", "video", "--identity", user["identity"], "--provider", "twitter",
              "--url", url, "--wait")
    assert out.returncode == 1
    assert json.loads(out.stdout)["error"]["reason"] == "unsupported_video_format"
    token = out.stderr.split("request_token: ")[1].split()[0]
    text = run(redis_stack, site, "requests", "show", token).stdout
    assert "error: unsupported_video_format" in text and "failed" in text


def test_api_errors_are_readable(redis_stack, site):
    out = run(redis_stack, site, "requests", "show", "no-such-token")
    assert out.returncode == 1 and "404 unknown_request" in out.stderr


def test_publish_at_schedules_the_push_and_show_tells_when(redis_stack, site, make_identity, origin):
    user = make_identity("twitter")
    url = origin.add("cli-later.mp4", make_video(1 * MB, seed=52))
    out = run(redis_stack, site, "push", "video", "--identity", user["identity"], "--provider", "twitter",
              "--url", url, "--publish-at", "2099-03-01T09:30:00+01:00")
    assert out.returncode == 1  # far beyond the scheduling horizon: refused in the envelope, nothing queued
    assert "publish_at" in out.stderr and "request_token" not in out.stderr

    moment = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).replace(microsecond=0)
    when = moment.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()  # an offset, not UTC
    utc = moment.isoformat().replace("+00:00", "Z")
    out = run(redis_stack, site, "push", "video", "--identity", user["identity"], "--provider", "twitter",
              "--url", url, "--publish-at", when)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["publish_at"] == utc
    token = answer["request_token"]
    shown = run(redis_stack, site, "requests", "show", token)
    assert shown.returncode == 0, shown.stderr
    assert f"publish_at: {utc}" in shown.stdout or f"publish_at: {moment.isoformat()}" in shown.stdout
    assert "state: succeeded" not in shown.stdout
