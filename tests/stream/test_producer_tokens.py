"""The Stream API's provider polls keep their tokens fresh, against the strict YouTube fake.

The fake's ``token_call_limit`` kills an access token after that many calls (401
authError), standing for Google's hour-long tokens outliving a run of checks;
``revoke_refresh`` makes the refresh grant answer ``invalid_grant``. Each check
(``exists``, ``list_comments``, the DELETE endpoint's ``delete``) goes through the
identity's TokenHolder: refreshed near expiry, refreshed and resent once on 401,
and a dead refresh token is recorded on the push without stopping anyone else's checks.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from app.events import bind_runtime, emit_upload
from app.models import Identity, PushRequest, utcnow
from app.runtime import Runtime
from app.stream import producers
from sandbox.youtube import create_app
from tests.stream.support import events_of
from tests.support.fakes import served

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def server():
    yield from served(create_app(processing_seconds=0.05))


@pytest.fixture()
def fake(server):
    server.state.reset()
    yield server.state
    server.state.token_call_limit = 30


@pytest.fixture()
def rt(stream_settings, server):
    settings = stream_settings.model_copy(update={
        "youtube_api_url": server.url, "youtube_token_url": server.url + "/token",
        "youtube_client_id": "sandbox-client", "youtube_client_secret": "sandbox-secret",
        "stream_exists_interval": 0.0, "stream_comment_interval": 0.0})
    runtime = Runtime(settings)
    _forget_watched(runtime)  # the database is the session's: only this test's videos are watched
    yield runtime
    _forget_watched(runtime)
    runtime.db.engine.dispose()


def _forget_watched(rt) -> None:
    """Mark every watched video deleted, so other tests' videos are not polled here (nor ours there)."""
    with rt.db.session() as session:
        for push in session.query(PushRequest).filter(PushRequest.outcome == "succeeded").all():
            if not (push.result or {}).get("deleted_at"):
                push.result = {**(push.result or {}), "deleted_at": utcnow().isoformat()}


def _identity(rt, site_id: int, user: dict, expires_in: float = 3000) -> int:
    with rt.db.session() as session:
        identity = Identity(site_id=site_id, provider="youtube", provider_user_id=user["channel_id"],
                            access_token_enc=rt.cipher.encrypt(user["access_token"]),
                            refresh_token_enc=rt.cipher.encrypt(user["refresh_token"]),
                            expires_at=utcnow() + dt.timedelta(seconds=expires_in),
                            profile={"name": user["username"]})
        session.add(identity)
        session.flush()
        return identity.id


def _pushed(rt, site_id: int, identity_id: int, video_id: str) -> int:
    """A finished YouTube video push with its upload event, as the pipeline leaves it."""
    with rt.db.session() as session:
        bind_runtime(session, rt)
        push = PushRequest(site_id=site_id, identity_id=identity_id, provider="youtube", kind="video",
                           resource="r", payload={"title": "t"}, state="succeeded", outcome="succeeded",
                           result={"video_id": video_id}, provider_ids={"video_id": video_id},
                           finished_at=utcnow(), staged_bytes=1024)
        session.add(push)
        session.flush()
        session.refresh(push)
        emit_upload(session, push)
        return push.id


def _stream_state(rt, push_id: int) -> dict:
    """The producers' section of the push's progress (they write nothing else of it)."""
    with rt.db.session() as session:
        progress = dict(session.get(PushRequest, push_id).progress or {})
    assert set(progress) <= {"stream"}, progress
    return progress.get("stream", {})


def _refreshes(fake, status: int = 200) -> int:
    return fake.calls.count(endpoint="token", status=status)


def test_a_token_dying_mid_run_is_refreshed_and_the_existence_check_resent(rt, fake, new_site):
    """Every token dies after one call: the second video's check meets a 401, refreshes,
    is sent again, and the video that vanished is still reported. (Before: one token per
    check, the 401 was logged and the vanished video missed.)"""
    site_id, _ = new_site()
    user = fake.add_user()
    identity_id = _identity(rt, site_id, user)
    kept = _pushed(rt, site_id, identity_id, fake.add_video(user["channel_id"]))
    gone_video = fake.add_video(user["channel_id"])
    gone = _pushed(rt, site_id, identity_id, gone_video)
    del fake.videos[gone_video]
    fake.token_call_limit = 1
    producers.check_vanished(rt)
    assert events_of(rt, kept, "delete") == []
    [event] = events_of(rt, gone, "delete")
    assert event.body["delete"]["guid"] == gone_video
    assert _refreshes(fake) >= 1
    assert "stream_check_error" not in _stream_state(rt, kept) and "stream_check_error" not in _stream_state(rt, gone)


def test_comment_polls_outlive_several_tokens(rt, fake, new_site):
    """Three videos of one channel, each token good for one call: every poll after the
    first needs a fresh token, and every video's comments arrive."""
    site_id, _ = new_site()
    user = fake.add_user()
    identity_id = _identity(rt, site_id, user)
    pushes = []
    for n in range(3):
        video_id = fake.add_video(user["channel_id"])
        fake.add_comment(video_id, "carol", f"comment {n}")
        pushes.append(_pushed(rt, site_id, identity_id, video_id))
    fake.token_call_limit = 1
    producers.poll_comments(rt)
    texts = [[e.body["comment"]["comment"] for e in events_of(rt, p, "comment")] for p in pushes]
    assert texts == [["comment 0"], ["comment 1"], ["comment 2"]]
    assert _refreshes(fake) >= 2


def test_a_token_near_expiry_is_refreshed_before_the_poll(rt, fake, new_site):
    site_id, _ = new_site()
    user = fake.add_user()
    identity_id = _identity(rt, site_id, user, expires_in=60)  # within the 5-minute margin
    video_id = fake.add_video(user["channel_id"])
    fake.add_comment(video_id, "carol", "hello")
    push = _pushed(rt, site_id, identity_id, video_id)
    producers.poll_comments(rt)
    assert [e.body["comment"]["comment"] for e in events_of(rt, push, "comment")] == ["hello"]
    assert _refreshes(fake) == 1
    assert fake.calls.count(endpoint="commentThreads", status=401) == 0
    with rt.db.session() as session:
        identity = session.get(Identity, identity_id)
        assert rt.cipher.decrypt(identity.access_token_enc) != user["access_token"]
        expires = identity.expires_at.replace(tzinfo=dt.timezone.utc)
        assert expires - utcnow() > dt.timedelta(minutes=30)


def test_a_dead_refresh_token_is_recorded_and_the_other_identities_are_still_checked(rt, fake, new_site, caplog):
    """Alice revoked Pushwire: her expired token cannot be refreshed. The run does not
    crash, asks the token endpoint once for her (not once per video), records
    ``reconnect_required`` on each of her videos with a warning, and Bob's comments
    still arrive. (Before: a 401 logged at INFO per video, nothing recorded.)"""
    site_id, _ = new_site()
    alice, bob = fake.add_user(), fake.add_user()
    alice_id, bob_id = _identity(rt, site_id, alice), _identity(rt, site_id, bob)
    alice_pushes = []
    for n in range(2):
        video_id = fake.add_video(alice["channel_id"])
        fake.add_comment(video_id, "carol", f"to alice {n}")
        alice_pushes.append(_pushed(rt, site_id, alice_id, video_id))
    bob_video = fake.add_video(bob["channel_id"])
    fake.add_comment(bob_video, "carol", "to bob")
    bob_push = _pushed(rt, site_id, bob_id, bob_video)
    fake.expire_token(alice["access_token"])
    fake.revoke_refresh(alice["refresh_token"])
    with caplog.at_level(logging.WARNING, logger="app.stream.producers"):
        producers.poll_comments(rt)
    assert [e.body["comment"]["comment"] for e in events_of(rt, bob_push, "comment")] == ["to bob"]
    assert _refreshes(fake, 200) == 0 and fake.calls.count(endpoint="token") == 1
    for push in alice_pushes:
        assert events_of(rt, push, "comment") == []
        error = _stream_state(rt, push)["stream_check_error"]
        assert error["reason"] == "reconnect_required", error
        assert "reconnect" in error["info"].lower()
        assert _stream_state(rt, push)["comments_checked_at"]
    assert any("reconnect_required" in r.getMessage() and str(alice_id) in r.getMessage() for r in caplog.records)
    assert "stream_check_error" not in _stream_state(rt, bob_push)


def test_a_recorded_check_error_is_cleared_once_the_account_works_again(rt, fake, new_site):
    """Every token refused, fresh or not: one refresh for the identity in the run (not
    one per video), ``token_expired`` recorded on each video; cleared by a good check."""
    site_id, _ = new_site()
    user = fake.add_user()
    identity_id = _identity(rt, site_id, user)
    pushes = [_pushed(rt, site_id, identity_id, fake.add_video(user["channel_id"])) for _ in range(3)]
    fake.token_call_limit = 0
    producers.check_vanished(rt)
    assert _refreshes(fake) == 1
    assert fake.calls.count(method="GET", path="/youtube/v3/videos", status=401) == 2  # the first video, twice
    for push in pushes:
        assert _stream_state(rt, push)["stream_check_error"]["reason"] == "token_expired"
    fake.token_call_limit = 30
    producers.check_vanished(rt)
    for push in pushes:
        assert "stream_check_error" not in _stream_state(rt, push)
        assert events_of(rt, push, "delete") == []


def test_the_delete_endpoint_refreshes_a_refused_token(rt, fake, new_site):
    """The DELETE endpoint's provider call: an expired token is refreshed and the
    deletion sent again (before: ``token_expired`` surfaced to the caller)."""
    site_id, _ = new_site()
    user = fake.add_user()
    identity_id = _identity(rt, site_id, user)
    video_id = fake.add_video(user["channel_id"])
    push_id = _pushed(rt, site_id, identity_id, video_id)
    fake.expire_token(user["access_token"])
    with rt.db.session() as session:
        assert producers.delete_pushed_video(rt, session, session.get(PushRequest, push_id)) is True
    assert video_id not in fake.videos
    assert _refreshes(fake) == 1


def test_a_network_without_the_capability_is_not_asked_nor_its_token_loaded(rt, fake, new_site):
    """Deleting, ``exists`` and ``list_comments`` are capabilities (mixins): for an adapter
    without them (here the scripted FakeAdapter standing for YouTube) the beat checks stamp
    the video as checked without a call, and the DELETE endpoint deletes nothing, all
    without loading the identity's expired token. (Before: base-class no-ops, called after
    the token was refreshed for nothing.)"""
    from app.providers.capabilities import capabilities
    from app.providers.fake import FakeAdapter

    adapter = FakeAdapter()
    assert capabilities(adapter) == frozenset()
    local = Runtime(rt.settings, adapters={"youtube": adapter})
    try:
        site_id, _ = new_site()
        user = fake.add_user()
        identity_id = _identity(local, site_id, user, expires_in=-60)  # expired: any use refreshes it
        push_id = _pushed(local, site_id, identity_id, fake.add_video(user["channel_id"]))
        producers.check_vanished(local)
        producers.poll_comments(local)
        progress = _stream_state(local, push_id)
        assert progress["exists_checked_at"] and progress["comments_checked_at"]
        assert "stream_check_error" not in progress
        with local.db.session() as session:
            assert producers.delete_pushed_video(local, session, session.get(PushRequest, push_id)) is False
        assert adapter.refreshed == [] and _refreshes(fake) == 0
        [event] = events_of(local, push_id, "delete")  # the endpoint's delete event, as before
    finally:
        local.db.engine.dispose()
