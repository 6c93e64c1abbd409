"""The LinkedIn adapter against the strict fake served in-process (no mocks of our code)."""

from __future__ import annotations

import email.utils
import hashlib
import os
import struct
import time
import zlib

import pytest

from app.providers.base import PushContext
from app.providers.fake import RecordingHooks
from app.providers.errors import (
    AuthExpired,
    InvalidInput,
    Misconfigured,
    OutcomeUnknown,
    PermissionDenied,
    ProcessingFailed,
    ProviderError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from app.providers.linkedin import LinkedInAdapter, escape_little_text, seconds_until_utc_midnight
from app.sniff import detect_image_format
from sandbox.linkedin import create_app
from tests.support.fakes import served

LIVE_VERSION = "202608"


def png(extra: int = 2000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 4, 3, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + os.urandom(extra)


@pytest.fixture(scope="module")
def server():
    yield from served(create_app())


@pytest.fixture()
def fake(server):
    server.state.reset()
    return server.state


@pytest.fixture()
def adapter(server):
    return LinkedInAdapter(server.url, oauth_url=server.url, client_id="sandbox-client",
                           client_secret="sandbox-secret", version=LIVE_VERSION, timeout=5)


@pytest.fixture()
def user(fake):
    return fake.add_user("abc123", "alice")


def make_ctx(user, kind="post", picture: bytes | None = None, **payload) -> PushContext:
    ctx = PushContext(request_token="t", kind=kind, payload=payload, access_token=user["access_token"],
                      provider_user_id=user["user_id"], profile={}, hooks=RecordingHooks(wait=time.sleep))
    if picture is not None:
        ctx.payload.setdefault("picture", "https://cdn.example.com/p.png")
        ctx.hooks.fetch = lambda url, max_bytes: (picture, detect_image_format(picture[:64]))
    return ctx


# -- each kind succeeds, with exactly the expected calls ---------------------------------------


def test_text_post_escapes_little_text(adapter, fake, user):
    text = "Launch (beta) #1 @team [x] *bold* _u_ ~s~ <a> {b} | c \\ done"
    outcome = adapter.push(make_ctx(user, message=text))
    urn = outcome.data["post_id"]
    assert urn.startswith("urn:li:share:") and outcome.provider_ids["post_urn"] == urn
    assert outcome.data["url"] == f"https://www.linkedin.com/feed/update/{urn}"
    assert outcome.data["provider"] == "linkedin" and outcome.data["object"] == "post"
    assert email.utils.parsedate_to_datetime(outcome.data["date_creation"]).year >= 2024
    post = fake.posts[0]
    assert post["author"] == "urn:li:person:abc123" and post["text"] == text and not post["truncated"]
    assert fake.calls.calls() == [("POST", "/rest/posts", 201)]


def test_link_post_becomes_an_article(adapter, fake, user):
    adapter.push(make_ctx(user, message="read", link="https://example.com/a", title="A", description="About A"))
    assert fake.posts[0]["content"] == {"article": {"source": "https://example.com/a", "title": "A",
                                                    "description": "About A"}}


def test_picture_post_uploads_once_and_references_the_image(adapter, fake, user):
    data = png()
    ctx = make_ctx(user, picture=data, message="pic", title="T")
    outcome = adapter.push(ctx)
    image_urn = outcome.provider_ids["image_urn"]
    image = fake.images[image_urn]
    assert image.sha256 == hashlib.sha256(data).hexdigest() and image.puts == [
        {"bytes": len(data), "sha256": image.sha256, "range": [0, len(data) - 1]}]
    assert image.owner == "urn:li:person:abc123"
    assert fake.posts[0]["content"] == {"media": {"id": image_urn, "title": "T"}}
    calls = [c[:2] for c in fake.calls.calls()]
    assert calls[:2] == [("POST", "/rest/images"), ("PUT", f"/dms-uploads/sp/v2/{image.upload_id}/uploaded-image/0")]
    assert set(calls[2:-1]) == {("GET", f"/rest/images/{image_urn}")}, "polls until AVAILABLE"
    assert calls[-1] == ("POST", "/rest/posts")
    assert any(p.get("image_urn") == image_urn and not p.get("image_uploaded") for p in ctx.hooks.saved), \
        "the image URN is saved before the upload"


def test_company_post_with_picture_is_owned_by_the_organization(adapter, fake, user):
    org = user["organization_id"]
    outcome = adapter.push(make_ctx(user, kind="company/post", company=f"urn:li:organization:{org}",
                                    picture=png(), link="https://example.com/b"))
    image = fake.images[outcome.provider_ids["image_urn"]]
    assert image.owner == f"urn:li:organization:{org}" == fake.posts[0]["author"]
    assert fake.posts[0]["content"]["article"]["thumbnail"] == image.urn
    adapter.push(make_ctx(user, kind="company/post", company=org, message="plain id works too"))
    assert fake.created("posts") == 2 and fake.created("images") == 1


def test_delete_and_exists(adapter, fake, user):
    outcome = adapter.push(make_ctx(user, message="to delete"))
    assert adapter.exists("post", outcome.provider_ids, user["access_token"]) is True
    assert adapter.delete("post", outcome.provider_ids, user["access_token"]) is True
    assert fake.deleted_posts[0]["id"] == outcome.data["post_id"]
    assert adapter.exists("post", outcome.provider_ids, user["access_token"]) is False
    assert ("DELETE", "/rest/posts/" + outcome.data["post_id"], 204) in fake.calls.calls()


# -- faults map onto our exception tree -------------------------------------------------------


def test_daily_limit_waits_until_utc_midnight(adapter, fake, user):
    fake.set_daily_limit(member=1)
    adapter.push(make_ctx(user, message="one"))
    with pytest.raises(RateLimited) as err:
        adapter.push(make_ctx(user, message="two"))
    assert err.value.reason == "daily_limit_reached"
    assert abs(err.value.retry_after - seconds_until_utc_midnight()) < 5
    fake.faults.add("posts", "429", retry_after=3)
    with pytest.raises(RateLimited) as err:
        adapter.push(make_ctx(user, message="three"))
    assert err.value.retry_after == 3


@pytest.mark.parametrize("kind,exc,reason", [
    ("503", OutcomeUnknown, "outcome_unknown"),  # a 5xx on the publish step
    ("expired_token", AuthExpired, "token_expired"),
    ("426", Misconfigured, "linkedin_version_sunset"),
    ("422", InvalidInput, "duplicate_post"),
    ("reset", OutcomeUnknown, "outcome_unknown"),
])
def test_post_faults(adapter, fake, user, kind, exc, reason):
    fake.faults.add("posts", kind)
    with pytest.raises(exc) as err:
        adapter.push(make_ctx(user, message=f"fault {kind}"))
    assert type(err.value) is exc and err.value.reason == reason and len(err.value.info) > 20


def test_upload_faults_before_publish_are_transient(adapter, fake, user):
    fake.faults.add("images_init", "500")
    with pytest.raises(TransientError) as err:
        adapter.push(make_ctx(user, picture=png(), message="x"))
    assert not isinstance(err.value, OutcomeUnknown)


def test_version_sunset_and_duplicates_from_the_fake_itself(adapter, fake, user):
    adapter.push(make_ctx(user, message="same words"))
    with pytest.raises(InvalidInput) as err:
        adapter.push(make_ctx(user, message="same words"))
    assert err.value.reason == "duplicate_post" and fake.posts[0]["id"] in err.value.info
    fake.set_live_versions("202701", "202712")
    with pytest.raises(ProviderError) as err:
        adapter.push(make_ctx(user, message="new words"))
    assert err.value.reason == "linkedin_version_sunset" and "PUSHWIRE_LINKEDIN_VERSION" in err.value.info


def test_not_an_admin_of_the_organization(adapter, fake, user):
    other = fake.add_organization("someone-else")
    fake.add_organization("abc123", "555", role="ANALYST")
    for company in (other, "555"):
        with pytest.raises(PermissionDenied) as err:
            adapter.push(make_ctx(user, kind="company/post", company=company, message="hi"))
        assert err.value.reason == "not_organization_admin"
    assert fake.created("posts") == 0


def test_picture_processing_failure_and_bad_format(adapter, fake, user):
    fake.faults.add("image_upload", "processing_failed")
    with pytest.raises(ProcessingFailed) as err:
        adapter.push(make_ctx(user, picture=png(), message="x"))
    assert err.value.reason == "picture_processing_failed"
    bmp = b"BM" + os.urandom(100)
    with pytest.raises(InvalidInput) as err:
        adapter.push(make_ctx(user, picture=bmp, message="y"))
    assert err.value.reason == "unsupported_picture_format"


# -- interrupted uploads resume; retried tasks do not create twice ------------------------------


@pytest.mark.parametrize("fault", ["reset", "reset_after_commit"])
def test_interrupted_image_upload_resumes(adapter, fake, user, fault):
    data = png(50_000)
    ctx = make_ctx(user, picture=data, message=f"resume {fault}")
    fake.faults.add("image_upload", fault)
    with pytest.raises(TransientError):
        adapter.push(ctx)
    assert adapter.push(ctx).data["post_id"]  # the retried task, same progress
    assert fake.created("images") == 1 and fake.created("posts") == 1
    image = next(iter(fake.images.values()))
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert len(image.puts) == 1, "each byte range is received exactly once"
    expected_puts = 2 if fault == "reset" else 1
    assert sum(1 for m, _, _ in fake.calls.calls() if m == "PUT") == expected_puts


def test_expired_upload_url_is_initialized_again(adapter, fake, user):
    ctx = make_ctx(user, picture=png(), message="late")
    fake.faults.add("image_upload", "reset")
    with pytest.raises(TransientError):
        adapter.push(ctx)
    ctx.progress["upload_expires_at"] = 0  # as if the task came back an hour later
    adapter.push(ctx)
    assert fake.created("images") == 2 and fake.created("posts") == 1


def test_retried_task_after_publish_does_not_post_twice(adapter, fake, user):
    ctx = make_ctx(user, message="once")
    first = adapter.push(ctx)
    assert adapter.push(ctx).data["post_id"] == first.data["post_id"]
    assert fake.created("posts") == 1


# -- tokens ---------------------------------------------------------------------------------


def test_refresh_issues_a_new_access_token(adapter, fake, user):
    tokens = adapter.refresh(user["refresh_token"])
    assert tokens.access_token != user["access_token"] and tokens.refresh_token == user["refresh_token"]
    assert tokens.expires_at is not None
    fake.expire_token(user["access_token"])
    with pytest.raises(AuthExpired):
        adapter.push(make_ctx(user, message="old token"))
    adapter.push(make_ctx({**user, "access_token": tokens.access_token}, message="new token"))


def test_dead_refresh_token_requires_reconnect(adapter, fake, user):
    fake.revoke_refresh(user["refresh_token"])
    with pytest.raises(ReconnectRequired) as err:
        adapter.refresh(user["refresh_token"])
    assert "reconnect" in err.value.info
    plain = fake.add_user("nopartner", "bob", partner=False)
    assert plain["refresh_token"] is None
    with pytest.raises(ReconnectRequired):
        adapter.refresh("made-up")


def test_refused_client_is_the_operators_problem_not_a_reconnect(server, fake, user):
    bad = LinkedInAdapter(server.url, oauth_url=server.url, client_id="sandbox-client", client_secret="rotated",
                          version=LIVE_VERSION, timeout=5)
    with pytest.raises(ProviderError) as err:
        bad.refresh(user["refresh_token"])
    assert err.value.reason == "provider_misconfigured" and isinstance(err.value, Misconfigured)
    assert "PUSHWIRE_LINKEDIN_CLIENT_SECRET" in err.value.info


def test_escape_little_text():
    assert escape_little_text("a(b)\\c#") == "a\\(b\\)\\\\c\\#"


# -- second edition: the network as it is ----------------------------------------------------


def test_post_waits_until_the_picture_is_available(adapter, fake, user):
    """Item 4: LinkedIn refuses a post whose image is still PROCESSING; the adapter
    polls the image until AVAILABLE before the one post."""
    fake.image_processing_secs = 1.0
    outcome = adapter.push(make_ctx(user, picture=png(), message="pic after processing"))
    post = fake.find_post(outcome.data["post_id"])
    assert fake.images[post["content"]["media"]["id"]].status == "AVAILABLE"
    refused = [c for c in fake.calls.calls() if c[1] == "/rest/posts" and c[2] != 201]
    assert refused == [] and fake.created("posts") == 1


def test_member_token_that_cannot_read_images_retries_the_post_on_not_ready(adapter, fake, user):
    """Item 4, where the status cannot be read: a grace period, then the post is
    retried on LinkedIn's "not yet available" answer, and published once."""
    fake.member_can_read_images = False
    fake.image_processing_secs = 2.5
    outcome = adapter.push(make_ctx(user, picture=png(), message="pic, no status reads"))
    posts = [c[2] for c in fake.calls.calls() if c[0] == "POST" and c[1] == "/rest/posts"]
    assert posts[-1] == 201 and 422 in posts and fake.created("posts") == 1
    assert fake.find_post(outcome.data["post_id"]) is not None


def test_a_throttling_429_backs_off_instead_of_waiting_for_midnight(adapter, fake, user):
    """Item 8: only a 429 that names the daily limit waits for 00:00 UTC."""
    fake.faults.add("posts", "429")
    with pytest.raises(RateLimited) as err:
        adapter.push(make_ctx(user, message="throttled"))
    assert err.value.reason == "rate_limited" and err.value.retry_after is None
    fake.faults.add("posts", "quota")
    with pytest.raises(RateLimited) as err:
        adapter.push(make_ctx(user, message="daily"))
    assert err.value.reason == "daily_limit_reached"
    assert abs(err.value.retry_after - seconds_until_utc_midnight()) < 5


def test_escaping_keeps_hashtags_and_links_intact(adapter, fake, user):
    """Item 8: ``#launch`` stays a hashtag and the link is sent as written."""
    text = "New #launch (beta) at https://example.com/a_b?x=(1)&y=[2] @team"
    outcome = adapter.push(make_ctx(user, message=text))
    post = fake.find_post(outcome.data["post_id"])
    assert post["text"] == text and not post["truncated"]
    assert post["hashtags"] == ["launch"] and post["urls"] == ["https://example.com/a_b?x=(1)&y=[2]"]


def test_default_version_is_one_linkedin_published(server, fake, user):
    """Item 8: the default ``LinkedIn-Version`` exists (LinkedIn skips months: 202512
    was never published and is refused like a sunset one)."""
    from app.config import Settings

    settings = Settings(linkedin_api_url=server.url, linkedin_oauth_url=server.url)
    adapter = LinkedInAdapter.from_settings(settings)
    assert adapter.push(make_ctx(user, message="default version")).data["post_id"]
    assert not fake.version_live("202512") and not fake.version_live("202610")


def test_version_426_is_reported_to_operators_once(server, fake, user, caplog):
    """Item 8: a 426 is configuration: ``provider_misconfigured``-class, one log line
    and one metric increment per version however many pushes hit it."""
    from app.ops.metrics import PROVIDER_CONFIG_ERRORS

    metric = PROVIDER_CONFIG_ERRORS.labels("linkedin", "linkedin_version_sunset")
    before = metric._value.get()
    stale = LinkedInAdapter(server.url, oauth_url=server.url, version="202512", timeout=5)
    for n in range(3):
        with pytest.raises(Misconfigured) as err:
            stale.push(make_ctx(user, message=f"stale {n}"))
        assert err.value.reason == "linkedin_version_sunset" and "PUSHWIRE_LINKEDIN_VERSION" in err.value.info
    assert metric._value.get() == before + 1
    assert [r for r in caplog.records if "202512" in r.getMessage()].__len__() == 1
