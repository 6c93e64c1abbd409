"""A network whose video size cap follows the posting account (X: 8 GB, 16 GB with
Premium): the download caps at the largest any account has (``video_ceiling``) and
asks the account's own cap only when a video passes what every account may post
(``max_video_bytes``). Here with the scripted adapter and caps scaled down to MB, so
a whole video can pass the first cap and be staged."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.media.specs import X_TIERS
from app.pipeline.download import SizeCap, SourceRefused, run_download
from app.pipeline.outcome import Retry
from app.providers.errors import ReconnectRequired, TransientError
from app.providers.capabilities import ReadsAccountTier
from app.providers.fake import FakeAdapter
from app.providers.twitter import TwitterAdapter
from tests.pipeline.conftest import attempts, request
from tests.support.origin import make_video

MB = 1024**2


class TieredFake(FakeAdapter, ReadsAccountTier):
    """The scripted network (as ``twitter``) with everyone's cap at 1 MiB and a premium
    account's at 2 MiB, answering the account-tier read as told and counting it."""

    def __init__(self, **caps):
        super().__init__(**({"max_video_bytes": MB, "video_ceiling": 2 * MB} | caps))
        self.fields = {"subscription_type": "None", "verified_type": "none"}
        self.fail: list[Exception] = []
        self.tier_reads = 0

    def account_tier(self, access_token: str) -> dict:
        self.tier_reads += 1
        assert access_token == "token-1"  # the identity's own token, loaded as the upload does
        if self.fail:
            raise self.fail.pop(0)
        return dict(self.fields)


@pytest.fixture()
def fake() -> TieredFake:
    return TieredFake()


def _leftovers(rt) -> list:
    """Files left in the staging store's directory (a partial download included)."""
    root = Path(rt.store.root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("sized", [True, False], ids=["content-length", "streamed"])
def test_a_premium_account_gets_a_video_past_everyones_cap(rt, make_push, origin, fake, sized):
    fake.fields["subscription_type"] = "Premium"
    video = make_video(MB + MB // 2, seed=21)
    url = (origin.add if sized else origin.add_unsized)(f"premium-{sized}.mp4", video)
    request_id = make_push({"video_url": url}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "staged"
    assert request(rt, request_id).staged_bytes == len(video)
    assert fake.tier_reads == 1


@pytest.mark.parametrize("sized,info", [
    (True, "X lets this account post videos of at most 1 MB; this one is 1.5 MB."),
    (False, "X lets this account post videos of at most 1 MB; this one is more than 1 MB."),
], ids=["content-length", "streamed"])
def test_a_default_account_is_refused_naming_its_limit(rt, make_push, origin, fake, sized, info):
    video = make_video(MB + MB // 2, seed=22)
    url = (origin.add if sized else origin.add_unsized)(f"default-{sized}.mp4", video)
    request_id = make_push({"video_url": url}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    push = request(rt, request_id)
    assert (push.error_reason, push.error_code, push.error_info) == ("video_too_large", 413, info)
    assert attempts(rt, request_id) == [("stage", 1, "failed", "video_too_large")]
    assert fake.tier_reads == 1
    assert _leftovers(rt) == [], "no partial staged file is left"


def test_a_video_under_everyones_cap_never_asks(rt, make_push, origin, fake):
    request_id = make_push({"video_url": origin.add_unsized("small.mp4", make_video(300_000, seed=23))},
                           kind="video")
    assert run_download(rt, request_id, "t-stage") == "staged"
    assert fake.tier_reads == 0


def test_past_the_ceiling_no_account_is_asked(rt, make_push, origin, fake):
    fake.fields["subscription_type"] = "Premium"
    request_id = make_push({"video_url": origin.add("past-ceiling.mp4", make_video(3 * MB, seed=24))}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    assert request(rt, request_id).error_info == "The video is 3.0 MB; this provider accepts at most 2 MB."
    assert fake.tier_reads == 0


def test_a_premium_accounts_own_cap_holds_while_streaming(rt, make_push, origin, fake):
    fake.fields["verified_type"] = "blue"
    request_id = make_push({"video_url": origin.add_unsized("premium-past-own-cap.mp4", make_video(3 * MB, seed=25))},
                           kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    assert request(rt, request_id).error_info == ("X lets this account post videos of at most 2 MB; "
                                                  "this one is more than 2 MB.")
    assert fake.tier_reads == 1
    assert _leftovers(rt) == []


def test_the_network_not_answering_the_tier_read_is_retried(rt, make_push, origin, fake):
    fake.fields["subscription_type"] = "PremiumPlus"
    fake.fail.append(TransientError("X answered HTTP 503.", reason="provider_unavailable"))
    request_id = make_push({"video_url": origin.add("retried.mp4", make_video(MB + MB // 2, seed=26))},
                           kind="video")
    with pytest.raises(Retry) as caught:
        run_download(rt, request_id, "t-stage")
    assert caught.value.reason == "provider_unavailable"
    assert _leftovers(rt) == []
    assert run_download(rt, request_id, "t-stage-2") == "staged"
    assert attempts(rt, request_id) == [("stage", 1, "retrying", "provider_unavailable"),
                                        ("stage", 2, "succeeded", None)]
    assert fake.tier_reads == 2


def test_a_token_problem_fails_with_its_own_reason(rt, make_push, origin, fake):
    fake.fail.append(ReconnectRequired("X refused the token: reconnect the account."))
    request_id = make_push({"video_url": origin.add("revoked.mp4", make_video(MB + MB // 2, seed=27))},
                           kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    push = request(rt, request_id)
    assert (push.error_reason, push.error_info) == ("reconnect_required", "X refused the token: reconnect the account.")
    assert _leftovers(rt) == []


@pytest.mark.parametrize("fake", [TieredFake(video_ceiling=None)], ids=["no-ceiling"])
def test_a_network_without_a_ceiling_is_never_asked(rt, make_push, origin, fake):
    fake.fields["subscription_type"] = "Premium"
    request_id = make_push({"video_url": origin.add("flat.mp4", make_video(MB + MB // 2, seed=28))},
                           kind="video")
    assert run_download(rt, request_id, "t-stage") == "failed"
    assert request(rt, request_id).error_info == "The video is 1.5 MB; this provider accepts at most 1 MB."
    assert fake.tier_reads == 0


def test_a_raised_cap_is_asked_once_and_gives_the_transfer_time_for_the_extra_bytes():
    asked, extended = [], []
    cap = SizeCap(100, 300, ask=lambda: asked.append(1) or (300, "X lets this account post"))
    cap.on_raise = extended.append
    cap.check(150, partial=True)
    cap.check(250, partial=True)
    with pytest.raises(SourceRefused):
        cap.check(301, partial=True)
    assert (asked, extended, cap.limit) == ([1], [200], 300)


def test_xs_caps_are_its_tiers():
    assert (TwitterAdapter.max_video_bytes, TwitterAdapter.video_ceiling) == (X_TIERS["default"][1],
                                                                              X_TIERS["premium"][1])
