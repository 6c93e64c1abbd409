"""X's video size cap follows the posting account (8 GB; 16 GB with X Premium or a
verified account): the download step caps a push at its account's limit, read once per
push and reused by the transcode step."""

from __future__ import annotations

import pytest

from app.pipeline.download import _cap, _too_large, run_download
from app.pipeline.outcome import Retry
from app.pipeline.transcode import run_transcode
from app.providers.errors import TransientError
from app.providers.fake import FakeAdapter
from app.providers.twitter import VIDEO_CAP
from tests.pipeline.conftest import attempts, request
from tests.support.origin import make_video

GB = 1024**3


class TieredFake(FakeAdapter):
    """The scripted network with X's every-account cap (8 GiB), answering X's
    account-tier read (``GET /2/users/me``) as told."""

    def __init__(self):
        super().__init__(max_video_bytes=VIDEO_CAP)
        self.fields = {"subscription_type": "None", "verified_type": "none"}
        self.fail_next: Exception | None = None
        self.tier_reads = 0

    def account_tier(self, access_token: str) -> dict:
        self.tier_reads += 1
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        return dict(self.fields)


@pytest.fixture()
def fake() -> TieredFake:
    return TieredFake()


def test_a_premium_account_gets_past_the_8_gb_cap(rt, make_push, origin, fake):
    fake.fields["subscription_type"] = "Premium"
    # Announces 9 GB, then ends after its first bytes: the download starts, then fails as a cut transfer.
    request_id = make_push({"video_url": origin.add_declared("premium-9gb.mp4", 9 * GB)}, kind="video")
    with pytest.raises(Retry) as caught:
        run_download(rt, request_id, "t-stage")
    assert caught.value.reason == "download_failed"
    assert attempts(rt, request_id) == [("stage", 1, "retrying", "download_failed")]
    assert fake.tier_reads == 1


def test_a_premium_account_is_still_refused_over_16_gb(rt, make_push, origin, fake):
    fake.fields["verified_type"] = "blue"
    request_id = make_push({"video_url": origin.add_declared("premium-17gb.mp4", 17 * GB)}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    push = request(rt, request_id)
    assert (push.error_reason, push.error_code) == ("video_too_large", 413)
    assert push.error_info == "X lets this account post videos of at most 16 GB; this one is 17.0 GB."


def test_a_default_account_is_refused_at_8_gb_naming_its_limit(rt, make_push, origin, fake):
    request_id = make_push({"video_url": origin.add_declared("default-9gb.mp4", 9 * GB)}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    push = request(rt, request_id)
    assert (push.error_reason, push.error_code) == ("video_too_large", 413)
    assert push.error_info == "X lets this account post videos of at most 8 GB; this one is 9.0 GB."
    assert not rt.store.exists(f"{push.token}/source")


def test_the_tier_read_for_the_download_is_reused_by_the_transcode(rt, make_push, origin, fake):
    fake.fields["subscription_type"] = "Premium"
    request_id = make_push({"video_url": origin.add("premium-small.mp4", make_video(300_000, seed=11))},
                           kind="video")
    assert run_download(rt, request_id, "t-stage") == "staged"
    assert request(rt, request_id).progress["download"]["account_tier"] == {
        "tier": "premium", "subscription_type": "Premium", "verified_type": "none"}
    assert run_transcode(rt, request_id, "t-transcode") == "pass"
    assert request(rt, request_id).progress["media"]["account_tier"]["tier"] == "premium"
    assert fake.tier_reads == 1, "X was asked once per push"


def test_x_not_answering_the_tier_read_is_retried(rt, make_push, origin, fake):
    fake.fail_next = TransientError("X answered HTTP 503", reason="provider_unavailable")
    request_id = make_push({"video_url": origin.add("tier-503.mp4", make_video(300_000, seed=12))}, kind="video")
    with pytest.raises(Retry):
        run_download(rt, request_id, "t-stage")
    assert attempts(rt, request_id) == [("stage", 1, "retrying", "provider_unavailable")]
    assert run_download(rt, request_id, "t-stage-2") == "staged"
    assert request(rt, request_id).progress["download"]["account_tier"]["tier"] == "default"


def test_a_streamed_video_over_the_accounts_cap_names_the_limit(rt, identity, fake):
    """Without a Content-Length the cap is met while streaming: the refusal still names the account's limit."""
    fake.fields["subscription_type"] = "PremiumPlus"
    cap, note = _cap(rt, "twitter", identity)
    assert (cap, note["tier"]) == (16 * GB, "premium")
    assert _too_large(cap + 1, cap, partial=True) == "X lets this account post videos of at most 16 GB; this one is more than 16 GB."
