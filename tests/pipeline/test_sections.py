"""``app.progress``: each owner's section of ``PushRequest.progress``, read from rows of
both shapes (namespaced, and flat as the previous release wrote them)."""

from __future__ import annotations

from app import progress as sections

FLAT = {  # a row of the previous release: an X upload under way, then stream checks
    "format": "mov", "mime_type": "video/quicktime",
    "media": {"done": True},
    "media_id": "m1", "segments_done": 4, "created": 1700000000.0, "tweet_id_publishing": True,
    "comments_seen": "c9", "comment_ids": ["c8", "c9"], "comments_checked_at": 5.0,
    "stream_check_error": {"reason": "token_expired", "info": "i", "at": 6.0},
}
NAMESPACED = {
    "download": {"format": "mpeg4", "mime_type": "video/mp4"},
    "media": {"done": True},
    "restaged": {"stage": "upload", "key": "k", "at": "2026-01-01T00:00:00+00:00"},
    "provider": {"video_id": "v1"},
    "stream": {"exists_checked_at": 3.0},
}


def test_each_section_of_a_namespaced_row():
    assert sections.download(NAMESPACED) == {"format": "mpeg4", "mime_type": "video/mp4"}
    assert sections.media(NAMESPACED) == {"done": True} and sections.media_done(NAMESPACED)
    assert sections.restaged(NAMESPACED)["stage"] == "upload"
    assert sections.provider(NAMESPACED) == {"video_id": "v1"}
    assert sections.stream(NAMESPACED) == {"exists_checked_at": 3.0}


def test_a_flat_row_is_read_as_each_owners_section():
    assert sections.download(FLAT) == {"format": "mov", "mime_type": "video/quicktime"}
    assert sections.provider(FLAT) == {"media_id": "m1", "segments_done": 4, "created": 1700000000.0,
                                       "tweet_id_publishing": True}
    assert sections.stream(FLAT) == {"comments_seen": "c9", "comment_ids": ["c8", "c9"], "comments_checked_at": 5.0,
                                     "stream_check_error": {"reason": "token_expired", "info": "i", "at": 6.0}}
    assert sections.media_done(FLAT) and sections.restaged(FLAT) is None


def test_empty_rows():
    for row in (None, {}):
        assert sections.download(row) == {"format": "", "mime_type": "video/mp4"}
        assert sections.provider(row) == {} and sections.stream(row) == {} and sections.media(row) == {}
        assert not sections.media_done(row) and sections.restaged(row) is None


def test_writing_a_section_moves_only_that_owners_flat_keys():
    row = sections.with_section(FLAT, sections.STREAM, {**sections.stream(FLAT), "comments_seen": "c10"})
    assert row["stream"]["comments_seen"] == "c10"
    assert not {"comments_seen", "comment_ids", "comments_checked_at", "stream_check_error"} & set(row)
    assert sections.provider(row) == sections.provider(FLAT)  # still read from its flat keys
    row = sections.with_section(row, sections.PROVIDER, {"media_id": "m2"})
    assert row == {"format": "mov", "mime_type": "video/quicktime", "media": {"done": True},
                   "provider": {"media_id": "m2"}, "stream": row["stream"]}
    assert sections.download(row)["format"] == "mov"
    assert sections.with_section(row, sections.MEDIA, None).keys() == {"format", "mime_type", "provider", "stream"}


def test_readers_return_copies():
    state = sections.provider(NAMESPACED)
    state["video_id"] = "changed"
    sections.stream(NAMESPACED)["exists_checked_at"] = 0
    assert NAMESPACED["provider"] == {"video_id": "v1"} and NAMESPACED["stream"] == {"exists_checked_at": 3.0}


def test_publish_markers_and_what_reached_the_provider():
    assert sections.publish_marker("tweet_id") == "tweet_id_publishing"
    assert sections.publishes_started(sections.provider(FLAT)) == ["tweet_id_publishing"]
    assert sections.publishes_started({"post_id_publishing": False, "post_id": "1"}) == []
    assert sections.reached_provider(sections.provider(FLAT))
    assert sections.reached_provider({"video_id": "v"}) and sections.reached_provider({"pin_publishing": True})
    assert not sections.reached_provider({"session_uri": "https://u", "segments_done": 2})
