"""X's video size cap follows the posting account (8 GB; 16 GB with X Premium or a
verified account). The download step, with the real X adapter against the strict X
fake served in process, asks X (``GET /2/users/me``) only for a video past 8 GiB.
Files over 8 GiB are announced by their Content-Length and never sent in full."""

from __future__ import annotations

import pytest

from app.pipeline.download import run_download
from app.pipeline.outcome import Retry
from app.providers.twitter import TwitterAdapter
from sandbox.twitter import create_app
from tests.pipeline.conftest import attempts, request
from tests.support.fakes import served
from tests.support.origin import make_video

GB = 1024**3


@pytest.fixture(scope="module")
def server():
    yield from served(create_app())


@pytest.fixture()
def x(server):
    server.state.reset()
    return server.state


@pytest.fixture()
def fake(server):
    """The network of the pipeline's runtime (``rt``): the real X adapter."""
    return TwitterAdapter(server.url, client_id="sandbox-client", client_secret="sandbox-secret", timeout=10)


@pytest.fixture()
def user(x):
    """The X account behind the pipeline's identity (whose token is ``token-1``)."""
    return x.add_user("7001", "poster", access_token="token-1")


def _asked(x) -> int:
    return x.calls.count(method="GET", path="/2/users/me")


def test_a_video_under_8_gib_never_calls_x(rt, make_push, origin, x, user):
    request_id = make_push({"video_url": origin.add("x-small.mp4", make_video(300_000, seed=31))}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "staged"
    assert x.calls.calls() == []


def test_a_default_account_is_refused_over_8_gib_naming_its_limit(rt, make_push, origin, x, user):
    request_id = make_push({"video_url": origin.add_declared("x-default-9gb.mp4", 9 * GB)}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    push = request(rt, request_id)
    assert (push.error_reason, push.error_code) == ("video_too_large", 413)
    assert push.error_info == "X lets this account post videos of at most 8 GB; this one is 9.0 GB."
    assert not rt.store.exists(f"{push.token}/source")
    assert _asked(x) == 1


def test_a_premium_account_gets_past_the_8_gib_cap(rt, make_push, origin, x, user):
    x.set_subscription(user["user_id"], "Premium")
    # Announces 9 GB, then ends after its first bytes: past the cap check, the download
    # fails as a cut transfer (retried), not as too large.
    request_id = make_push({"video_url": origin.add_declared("x-premium-9gb.mp4", 9 * GB)}, kind="video")
    with pytest.raises(Retry) as caught:
        run_download(rt, request_id, "t-stage")
    assert caught.value.reason == "download_failed"
    assert attempts(rt, request_id) == [("stage", 1, "retrying", "download_failed")]
    assert _asked(x) == 1


def test_a_premium_account_is_refused_over_16_gib_without_asking(rt, make_push, origin, x, user):
    x.set_subscription(user["user_id"], "Premium")
    request_id = make_push({"video_url": origin.add_declared("x-17gb.mp4", 17 * GB)}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    assert request(rt, request_id).error_info == "The video is 17408.0 MB; this provider accepts at most 16384 MB."
    assert _asked(x) == 0


def test_x_failing_the_tier_read_is_retried(rt, make_push, origin, x, user):
    x.faults.add("me", "503")
    request_id = make_push({"video_url": origin.add_declared("x-503-9gb.mp4", 9 * GB)}, kind="video")
    with pytest.raises(Retry) as caught:
        run_download(rt, request_id, "t-stage")
    assert caught.value.reason == "provider_unavailable"
    assert run_download(rt, request_id, "t-stage-2") == "failed"  # X answers now: a default account
    assert attempts(rt, request_id) == [("stage", 1, "retrying", "provider_unavailable"),
                                        ("stage", 2, "failed", "video_too_large")]
    assert _asked(x) == 2


def test_a_token_x_refuses_fails_as_reconnect_required(rt, make_push, origin, x):
    """X does not know the identity's token (revoked) and there is no refresh token."""
    request_id = make_push({"video_url": origin.add_declared("x-revoked-9gb.mp4", 9 * GB)}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    push = request(rt, request_id)
    assert push.error_reason == "reconnect_required", push.error_info
    assert "reconnect" in push.error_info
    assert not rt.store.exists(f"{push.token}/source")
