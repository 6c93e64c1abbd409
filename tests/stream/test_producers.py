"""The beat tasks' producers, run in-process against PostgreSQL, seen on a real stream.

A tiny adapter registered as provider ``streamtest`` stands in for YouTube/Facebook
(``list_comments`` / ``exists``); X media expiry uses the ``twitter`` provider rows.
"""

from __future__ import annotations

import email.utils
import time

import pytest

from app.events import bind_runtime, emit_upload
from app.models import Event, Identity, PushRequest, Site, utcnow
from app.providers.base import ProviderAdapter
from app.providers.capabilities import ChecksExistence, ListsComments
from app.stream import producers
from tests.stream.support import StreamReader, events_of

pytestmark = pytest.mark.timeout(60)


class StreamTestAdapter(ProviderAdapter, ChecksExistence, ListsComments):
    name = "streamtest"
    comments: dict[str, list[dict]] = {}
    gone: set[str] = set()
    calls: list[tuple] = []

    @classmethod
    def from_settings(cls, settings):
        return cls("http://127.0.0.1:9")

    def list_comments(self, kind, provider_ids, access_token, since=None):
        self.calls.append(("comments", provider_ids["video_id"], access_token, since))
        return list(self.comments.get(provider_ids["video_id"], []))

    def exists(self, kind, provider_ids, access_token):
        return provider_ids["video_id"] not in self.gone


@pytest.fixture()
def registry(monkeypatch):
    from app import providers

    monkeypatch.setitem(providers.REGISTRY, "streamtest", "tests.stream.test_producers:StreamTestAdapter")
    StreamTestAdapter.comments, StreamTestAdapter.gone, StreamTestAdapter.calls = {}, set(), []


def _pushed_video(rt, site_id: int, provider: str, video_id: str, **push_fields) -> int:
    """A finished video push with its upload event, as the pipeline leaves it."""
    with rt.db.session() as session:
        bind_runtime(session, rt)
        identity = Identity(site_id=site_id, provider=provider, provider_user_id=f"u-{video_id}",
                            access_token_enc=rt.cipher.encrypt("tok-" + video_id),
                            refresh_token_enc=rt.cipher.encrypt("r"), profile={"name": "alice & bob"})
        session.add(identity)
        session.flush()
        result = push_fields.pop("result", {"video_id": video_id, "url": f"https://example.test/{video_id}"})
        push = PushRequest(site_id=site_id, identity_id=identity.id, provider=provider, kind="video",
                           resource="r", payload={"title": "t"}, state="succeeded", outcome="succeeded",
                           result=result, finished_at=utcnow(), staged_bytes=1024 * 1024, **push_fields)
        push.provider_ids = push.provider_ids or {"video_id": video_id}
        session.add(push)
        session.flush()
        session.refresh(push)
        emit_upload(session, push)
        return push.id


def _comment(cid: str, text: str) -> dict:
    return {"id": cid, "text": text, "created_at": "2025-01-01T00:00:00Z",
            "author": {"name": "carol", "profile_image_url": "https://img.test/c.jpg"}}


def test_comments_are_emitted_once_and_streamed(gateways, stream_rt, new_site, registry, ip):
    site_id, key = new_site()
    push_id = _pushed_video(stream_rt, site_id, "streamtest", "vid-c")
    reader = StreamReader(gateways[0].url, ip, token=key, events="comment")
    try:
        reader.wait_for(lambda _: reader.lines, timeout=5)
        StreamTestAdapter.comments["vid-c"] = [_comment("c1", "first <3"), _comment("c2", "second & last")]
        stream_rt.settings.stream_comment_interval = 0
        producers.poll_comments(stream_rt)
        producers.poll_comments(stream_rt)  # nothing new: nothing emitted
        assert len(events_of(stream_rt, push_id, "comment")) == 2
        StreamTestAdapter.comments["vid-c"].append(_comment("c3", "third"))
        producers.poll_comments(stream_rt)
        texts = [e.body["comment"]["comment"] for e in events_of(stream_rt, push_id, "comment")]
        assert texts == ["first <3", "second & last", "third"]
        assert StreamTestAdapter.calls[-1][2:] == ("tok-vid-c", "c2")  # fresh token, last seen comment
        elements = reader.wait_count(3)
        assert [e["comment"]["comment"] for e in elements] == texts
        assert elements[0]["comment"]["guid"] == "vid-c"
        assert elements[0]["comment"]["user"]["name"] == "carol"
    finally:
        reader.close()
        stream_rt.settings.stream_comment_interval = 60.0


def test_vanished_video_yields_one_delete(stream_rt, new_site, registry):
    site_id, _ = new_site()
    push_id = _pushed_video(stream_rt, site_id, "streamtest", "vid-gone")
    stream_rt.settings.stream_exists_interval = 0
    try:
        producers.check_vanished(stream_rt)
        assert events_of(stream_rt, push_id, "delete") == []
        StreamTestAdapter.gone.add("vid-gone")
        producers.check_vanished(stream_rt)
        producers.check_vanished(stream_rt)
        [event] = events_of(stream_rt, push_id, "delete")
        assert event.body == {"delete": {"guid": "vid-gone", "username": "alice & bob"}}
        with stream_rt.db.session() as session:
            assert session.get(PushRequest, push_id).result["deleted_reason"] == "vanished"
    finally:
        stream_rt.settings.stream_exists_interval = 900.0


def _x_video(rt, site_id: int, media_id: str, age: float, progress: dict | None = None, **ids) -> int:
    """A finished X video push as the adapter reports it: its ``date_creation`` is when
    the media was created (``age`` seconds ago)."""
    created = email.utils.formatdate(time.time() - age, localtime=False)
    result = {"provider": "twitter", "object": "video", "video_id": media_id, "date_creation": created}
    return _pushed_video(rt, site_id, "twitter", media_id, provider_ids={"media_id": media_id, **ids},
                         result=result, progress=progress or {"provider": {"media_id": media_id}})


def test_unattached_twitter_media_expires_after_24h(stream_rt, new_site):
    site_id, _ = new_site()
    old = _x_video(stream_rt, site_id, "m-old", 86400 + 60)
    fresh = _x_video(stream_rt, site_id, "m-new", 3600)
    tweeted = _x_video(stream_rt, site_id, "m-tw", 90000, tweet_id="9")
    producers.expire_twitter_media(stream_rt)
    producers.expire_twitter_media(stream_rt)
    assert len(events_of(stream_rt, old, "delete")) == 1
    assert events_of(stream_rt, fresh, "delete") == [] and events_of(stream_rt, tweeted, "delete") == []


def test_twitter_media_age_is_what_x_reported_not_the_adapters_state(stream_rt, new_site):
    """The adapter's own ``created`` (a row of the previous release kept it at the top
    level, where the producer read it) is not the stream's to read: X's reported
    ``date_creation`` is (failed before: this fresh media was expired)."""
    site_id, _ = new_site()
    push = _x_video(stream_rt, site_id, "m-legacy", 3600, progress={"media_id": "m-legacy",
                                                                   "created": time.time() - 90000})
    producers.expire_twitter_media(stream_rt)
    assert events_of(stream_rt, push, "delete") == []


def test_prune_forgets_old_events(stream_rt, new_site, produce):
    site_id, _ = new_site()
    event_id = produce(site_id, "upload", {"video": {"guid": "old"}})
    with stream_rt.db.session() as session:
        session.get(Event, event_id).created_at = utcnow().replace(year=2000)
    assert producers.prune_events(stream_rt) >= 1
    with stream_rt.db.session() as session:
        assert session.get(Event, event_id) is None
        assert session.get(Site, site_id) is not None


def test_comment_bookkeeping_stays_in_the_stream_section(stream_rt, new_site, registry):
    """The producers keep what they remember under ``progress["stream"]`` and leave the
    adapter's section alone (failed before: the keys were written at the top level)."""
    site_id, _ = new_site()
    push_id = _pushed_video(stream_rt, site_id, "streamtest", "vid-ns",
                            progress={"provider": {"video_id": "vid-ns"}, "media": {"done": True}})
    StreamTestAdapter.comments["vid-ns"] = [_comment("n1", "hello")]
    stream_rt.settings.stream_comment_interval = 0
    try:
        producers.poll_comments(stream_rt)
    finally:
        stream_rt.settings.stream_comment_interval = 60.0
    with stream_rt.db.session() as session:
        progress = session.get(PushRequest, push_id).progress
    assert set(progress) == {"provider", "media", "stream"}
    assert progress["provider"] == {"video_id": "vid-ns"} and progress["media"] == {"done": True}
    assert progress["stream"]["comments_seen"] == "n1" and progress["stream"]["comment_ids"] == ["n1"]
    assert progress["stream"]["comments_checked_at"] > 0


def test_a_row_of_the_previous_release_keeps_its_comment_bookkeeping(stream_rt, new_site, registry):
    """Flat stream keys of a row written before the namespaces are read as the stream's:
    a comment seen then is not emitted again, the poll asks from it, and the keys move
    under ``stream`` (the adapter's flat keys stay where they are)."""
    site_id, _ = new_site()
    push_id = _pushed_video(stream_rt, site_id, "streamtest", "vid-old",
                            progress={"video_id": "vid-old", "comments_seen": "o1", "comment_ids": ["o1"],
                                      "comments_checked_at": 1.0})
    StreamTestAdapter.comments["vid-old"] = [_comment("o1", "seen before"), _comment("o2", "new")]
    stream_rt.settings.stream_comment_interval = 0
    try:
        producers.poll_comments(stream_rt)
    finally:
        stream_rt.settings.stream_comment_interval = 60.0
    assert [e.body["comment"]["comment"] for e in events_of(stream_rt, push_id, "comment")] == ["new"]
    assert [call[3] for call in StreamTestAdapter.calls if call[1] == "vid-old"] == ["o1"]
    with stream_rt.db.session() as session:
        progress = session.get(PushRequest, push_id).progress
    assert set(progress) == {"video_id", "stream"}
    assert progress["stream"]["comment_ids"] == ["o1", "o2"] and progress["stream"]["comments_seen"] == "o2"
