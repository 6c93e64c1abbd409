"""FacebookAdapter against the strict fake Graph API served in-process (no mocks of our code)."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

import pytest

from app.providers.base import PushContext, StagedMedia
from app.providers.errors import (
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProcessingFailed,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from app.providers.facebook import FacebookAdapter
from app.providers.fake import RecordingHooks
from app.staging import open_store
from sandbox.common import MiB
from sandbox.facebook import create_app
from tests.support.fakes import served

V = "/v27.0"


def png(size: int = 2000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 4, 3, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    head = b"\x89PNG\r\n\x1a\n" + chunk
    return head + os.urandom(size - len(head))


def mp4(size: int) -> bytes:
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + os.urandom(size - len(head))


@pytest.fixture(scope="module")
def server():
    yield from served(create_app(processing_polls=1, windows=(MiB, 3 * MiB, 2 * MiB)))


@pytest.fixture()
def fake(server):
    server.state.reset()
    return server.state


@pytest.fixture()
def adapter(server):
    return FacebookAdapter(server.url, version="v27.0", poll_max=0.01, timeout=10)


@pytest.fixture()
def user(fake):
    return fake.add_user("100", "alice")


def make_ctx(kind: str, payload: dict, token: str, *, staged: StagedMedia | None = None, picture: bytes = b"",
             picture_format: str = "png") -> PushContext:
    ctx = PushContext(request_token="rt", kind=kind, payload=payload, access_token=token,
                      provider_user_id="100", profile={}, staged=staged,
                      hooks=RecordingHooks(fetch=lambda url, max_bytes: (picture, picture_format)))
    return ctx


def stage(tmp_path, data: bytes) -> StagedMedia:
    store = open_store(f"file://{tmp_path}/st")
    store.write("k", [data])
    return StagedMedia(store, "k", len(data), "mpeg4", "video/mp4")


def api_calls(fake) -> list[tuple[str, str, int]]:
    return fake.calls.calls()


# --------------------------------------------------------------------------- each kind succeeds


def test_page_post_gets_the_page_token_then_posts_once(adapter, fake, user):
    page = user["page_id"]
    ctx = make_ctx("page/post", {"id": page, "message": "hello", "link": "https://example.com/a"},
                   user["access_token"])
    outcome = adapter.push(ctx)
    assert api_calls(fake) == [("GET", f"{V}/me/accounts", 200), ("POST", f"{V}/{page}/feed", 200)]
    post_id = outcome.provider_ids["post_id"]
    assert fake.posts[post_id]["message"] == "hello" and fake.posts[post_id]["link"] == "https://example.com/a"
    assert outcome.provider_ids["page_id"] == page
    data = outcome.data
    assert data["provider"] == "facebook" and data["object"] == "post" and data["post_id"] == post_id
    assert data["url"] == f"https://www.facebook.com/{page}/posts/{post_id.split('_')[1]}"
    assert data["date_creation"].endswith("-0000")
    # A re-run (task redelivered after success) does not post twice.
    adapter.push(ctx)
    assert fake.creations()["posts"] == 1


def test_page_picture_uploads_the_bytes_and_creates_a_post(adapter, fake, user):
    page, data = user["page_id"], png()
    ctx = make_ctx("page/picture", {"id": page, "url": "https://cdn.example/p.png", "description": "sun",
                                    "create_post": True}, user["access_token"], picture=data)
    outcome = adapter.push(ctx)
    photo = fake.photos[outcome.provider_ids["picture_id"]]
    assert photo["sha256"] == hashlib.sha256(data).hexdigest() and photo["caption"] == "sun" and photo["published"]
    assert outcome.data["post_id"] == photo["post_id"]
    assert outcome.data["url"].endswith(outcome.provider_ids["picture_id"])
    assert fake.creations() == {"posts": 1, "photos": 1, "videos": 0}


def test_post_with_attachments_uses_unpublished_photos(adapter, fake, user):
    page = user["page_id"]
    ids = []
    for _ in range(2):
        ctx = make_ctx("page/picture", {"id": page, "url": "https://cdn.example/p.png", "create_post": False},
                       user["access_token"], picture=png())
        outcome = adapter.push(ctx)
        assert "post_id" not in outcome.data
        ids.append(outcome.provider_ids["picture_id"])
    assert fake.creations() == {"posts": 0, "photos": 2, "videos": 0}
    outcome = adapter.push(make_ctx("page/post", {"id": page, "message": "two", "attachments": ids},
                                    user["access_token"]))
    assert fake.posts[outcome.provider_ids["post_id"]]["attached_media"] == ids


def test_page_video_is_uploaded_in_server_windows_and_polled_until_ready(adapter, fake, user, tmp_path):
    page, data = user["page_id"], mp4(5 * MiB + 321)
    ctx = make_ctx("page/video", {"id": page, "video_url": "https://o/v.mp4", "title": "T", "description": "D"},
                   user["access_token"], staged=stage(tmp_path, data))
    outcome = adapter.push(ctx)
    video = fake.videos[outcome.provider_ids["video_id"]]
    assert video.finished and video.title == "T" and video.status == "ready" and ctx.hooks.processing
    assert video["sha256"] == hashlib.sha256(data).hexdigest()
    ranges = [(s, e) for s, e, _ in video.ranges]
    assert ranges == [(0, MiB), (MiB, 4 * MiB), (4 * MiB, len(data))]
    assert [(m, p) for m, p, _ in api_calls(fake)] == [
        ("GET", f"{V}/me/accounts")] + [("POST", f"{V}/{page}/videos")] * 5 + [("GET", f"{V}/{video.id}")] * 3
    assert outcome.data == {**outcome.data, "provider": "facebook", "object": "video", "video_id": video.id,
                            "url": f"https://www.facebook.com/{page}/videos/{video.id}/"}
    assert outcome.data["thumbnail_url"].startswith("https://")
    assert outcome.provider_ids == {"video_id": video.id, "page_id": page}


# --------------------------------------------------------------------------- retired targets


@pytest.mark.parametrize("kind", ["post", "picture", "video", "group/post", "group/picture", "group/video"])
def test_profile_and_group_targets_fail_with_a_clear_permanent_reason(kind, adapter, fake, user, tmp_path):
    group = fake.add_group(members=["100"])
    payload = {"message": "hi", "url": "https://cdn.example/p.png", "video_url": "https://o/v.mp4"}
    if kind.startswith("group/"):
        payload["id"] = group
    staged = stage(tmp_path, mp4(4000)) if kind.endswith("video") else None
    with pytest.raises(PermissionDenied) as err:
        adapter.push(make_ctx(kind, payload, user["access_token"], staged=staged, picture=png()))
    expected = "facebook_groups_retired" if kind.startswith("group/") else "facebook_profile_publishing_retired"
    assert err.value.reason == expected and err.value.status == 403
    assert "Facebook no longer lets apps" in err.value.info and "Page" in err.value.info
    assert err.value.details["code"] == 200 and err.value.details["fbtrace_id"]
    assert fake.creations() == {"posts": 0, "photos": 0, "videos": 0}


def test_legacy_groups_flag_lets_group_posts_through(adapter, fake, user):
    fake.legacy_groups = True
    group = fake.add_group(members=["100"])
    outcome = adapter.push(make_ctx("group/post", {"id": group, "message": "old times"}, user["access_token"]))
    assert outcome.provider_ids["group_id"] == group and outcome.provider_ids["post_id"].startswith(group + "_")


def test_a_page_the_user_does_not_manage_is_refused(adapter, fake, user):
    other = fake.add_page("Not yours")
    with pytest.raises(PermissionDenied) as err:
        adapter.push(make_ctx("page/post", {"id": other, "message": "x"}, user["access_token"]))
    assert err.value.reason == "facebook_page_not_managed" and other in err.value.info


def test_a_page_role_without_create_content_is_refused(adapter, fake, user):
    fake.set_tasks(user["page_id"], "100", ("ANALYZE",))
    with pytest.raises(PermissionDenied) as err:
        adapter.push(make_ctx("page/post", {"id": user["page_id"], "message": "x"}, user["access_token"]))
    assert err.value.reason == "facebook_permission_denied" and err.value.details["code"] == 10


def test_unsupported_picture_format_is_refused_before_any_upload(adapter, fake, user):
    ctx = make_ctx("page/picture", {"id": user["page_id"], "url": "https://c/p.gif"}, user["access_token"],
                   picture=b"GIF89a" + b"\0" * 100, picture_format="gif")
    with pytest.raises(InvalidInput) as err:
        adapter.push(ctx)
    assert err.value.reason == "unsupported_picture_format"
    assert fake.creations()["photos"] == 0


# --------------------------------------------------------------------------- fault classes


@pytest.mark.parametrize("endpoint,kind,params,exc,reason", [
    ("feed", "429", {"minutes": 2}, RateLimited, "rate_limited"),
    ("accounts", "503", {}, TransientError, "provider_unavailable"),
    ("feed", "500", {}, OutcomeUnknown, "outcome_unknown"),
    ("feed", "reset", {}, OutcomeUnknown, "outcome_unknown"),
    ("accounts", "reset", {}, TransientError, "provider_unreachable"),
    ("accounts", "expired_token", {}, ReconnectRequired, "facebook_reconnect_required"),
    ("feed", "token_dead", {}, ReconnectRequired, "facebook_reconnect_required"),
    ("feed", "duplicate", {}, InvalidInput, "duplicate_post"),
    ("feed", "permission", {}, PermissionDenied, "facebook_permission_denied"),
    ("feed", "blocked", {}, PermissionDenied, "facebook_blocked"),
])
def test_fault_classes_map_onto_our_exceptions(endpoint, kind, params, exc, reason, adapter, fake, user):
    fake.faults.add(endpoint, kind, **params)
    with pytest.raises(exc) as err:
        adapter.push(make_ctx("page/post", {"id": user["page_id"], "message": "m"}, user["access_token"]))
    assert type(err.value) is exc and err.value.reason == reason and len(err.value.info) > 20
    if kind == "429":
        assert err.value.retry_after == 120 and err.value.details["code"] == 32


def test_rate_limit_honours_retry_after_when_sent(adapter, fake, user):
    fake.faults.add("accounts", "429", retry_after=3, code=4)
    with pytest.raises(RateLimited) as err:
        adapter.push(make_ctx("page/post", {"id": user["page_id"], "message": "m"}, user["access_token"]))
    assert err.value.retry_after == 3 and err.value.details["code"] == 4


def test_usage_throttle_maps_to_rate_limited(adapter, fake, user):
    fake.set_usage_limits(page_calls_per_day=0)
    with pytest.raises(RateLimited) as err:
        adapter.push(make_ctx("page/post", {"id": user["page_id"], "message": "m"}, user["access_token"]))
    assert err.value.retry_after == 3600


def test_unknown_object_is_not_found(adapter, fake, user):
    assert adapter.exists("post", {"post_id": "123_456"}, user["access_token"]) is False
    with pytest.raises(NotFound) as err:
        adapter.graph("GET", "/123456", user["access_token"], "page/post")
    assert err.value.reason == "facebook_object_not_found"


# --------------------------------------------------------------------------- resumable upload


def _video_ctx(user, tmp_path, data, **payload):
    return make_ctx("page/video", {"id": user["page_id"], "video_url": "https://o/v.mp4", **payload},
                    user["access_token"], staged=stage(tmp_path, data))


def _inject_after_first_window(fake, ctx, kind):
    """Queue a transfer fault once Facebook has acknowledged the first window."""
    class InjectOnce(RecordingHooks):
        injected = False

        def save_progress(self, progress):
            super().save_progress(progress)
            up = progress.get("upload") or {}
            if up.get("start_offset", 0) > 0 and not self.injected:
                self.injected = True
                fake.faults.add("video_transfer", kind)
    ctx.hooks = InjectOnce()


@pytest.mark.parametrize("kind,expected_transfers", [("reset_after_commit", 3 + 1), ("reset", 3 + 1),
                                                     ("1363030", 3 + 1)])
def test_interrupted_upload_resumes_from_the_acknowledged_offset(kind, expected_transfers, adapter, fake, user,
                                                                 tmp_path):
    data = mp4(5 * MiB + 7)
    ctx = _video_ctx(user, tmp_path, data)
    _inject_after_first_window(fake, ctx, kind)
    with pytest.raises(TransientError):
        adapter.push(ctx)
    outcome = adapter.push(ctx)  # the pipeline's retry: same progress
    video = fake.videos[outcome.provider_ids["video_id"]]
    assert len(fake.videos) == 1, "resumed, not restarted"
    assert [(s, e) for s, e, _ in video.ranges] == [(0, MiB), (MiB, 4 * MiB), (4 * MiB, len(data))]
    assert video["sha256"] == hashlib.sha256(data).hexdigest()
    assert fake.calls.count(endpoint="video_transfer") == expected_transfers


def test_lost_finish_answer_is_checked_at_facebook_instead_of_unknown(adapter, fake, user, tmp_path):
    fake.faults.add("video_finish", "reset_after_commit")
    outcome = adapter.push(_video_ctx(user, tmp_path, mp4(3000)))
    assert fake.videos[outcome.provider_ids["video_id"]].status == "ready"
    assert fake.calls.count(endpoint="video_finish") == 1


def test_finish_that_never_reached_facebook_is_outcome_unknown(adapter, fake, user, tmp_path):
    fake.faults.add("video_finish", "reset")
    with pytest.raises(OutcomeUnknown):
        adapter.push(_video_ctx(user, tmp_path, mp4(3000)))


def test_processing_failure_is_permanent(adapter, fake, user, tmp_path):
    fake.fail_next_video("Unsupported codec")
    with pytest.raises(ProcessingFailed) as err:
        adapter.push(_video_ctx(user, tmp_path, mp4(3000)))
    assert err.value.reason == "video_processing_failed" and "Unsupported codec" in err.value.info


def test_too_small_video_is_refused_with_its_reason(adapter, fake, user, tmp_path):
    with pytest.raises(InvalidInput) as err:
        adapter.push(_video_ctx(user, tmp_path, mp4(500)))
    assert err.value.reason == "video_too_small"


# --------------------------------------------------------------------------- tokens and hooks


def test_refresh_is_not_offered_and_asks_to_reconnect(adapter):
    with pytest.raises(ReconnectRequired) as err:
        adapter.refresh("anything")
    assert "reconnect Facebook" in err.value.info


def test_comments_exists_and_delete(adapter, fake, user, tmp_path):
    outcome = adapter.push(_video_ctx(user, tmp_path, mp4(3000)))
    ids, token = outcome.provider_ids, user["access_token"]
    video_id = ids["video_id"]
    base = fake.now()
    fake.add_comment(video_id, "Bob", "first", created_time=base - 30)
    fake.add_comment(video_id, "Carol", "second", created_time=base - 20, hide_from=True)
    for n in range(110):  # more than one page of 100
        fake.add_comment(video_id, f"U{n}", f"c{n}", created_time=base - 10 + n / 1000)
    comments = adapter.list_comments("page/video", ids, token)
    assert [c["text"] for c in comments[:3]] == ["first", "second", "c0"] and len(comments) == 112
    assert comments[0]["author"]["name"] == "Bob" and comments[0]["author"]["profile_image_url"]
    assert comments[1]["author"]["name"] == "Facebook user"
    newer = adapter.list_comments("page/video", ids, token, since=comments[0]["created_at"])
    assert [c["text"] for c in newer[:1]] == ["second"]
    assert adapter.exists("page/video", ids, token) is True
    assert adapter.delete("page/video", ids, token) is True
    assert adapter.exists("page/video", ids, token) is False
    assert video_id in fake.deleted


# --------------------------------------------------------------------------- at most once


@pytest.mark.parametrize("kind", ["page/post", "page/picture"])
def test_publish_marker_is_saved_before_the_call_and_an_interrupted_publish_is_not_repeated(kind, adapter, fake,
                                                                                            user):
    """A worker killed after Facebook created the post but before the id was saved
    leaves the marker: the redelivery reports outcome unknown instead of posting again."""
    page = user["page_id"]
    payload = {"id": page, "message": "marker"} if kind == "page/post" else \
        {"id": page, "url": "https://cdn.example/p.png", "description": "marker", "create_post": True}
    ctx = make_ctx(kind, payload, user["access_token"], picture=png())
    adapter.push(ctx)
    key = "post_id" if kind == "page/post" else "picture_id"
    assert ctx.hooks.saved[0].get(f"{key}_publishing") is True and key not in ctx.hooks.saved[0], "marker first, alone"
    before = fake.creations()

    crashed = make_ctx(kind, payload, user["access_token"], picture=png())
    crashed.progress = dict(ctx.hooks.saved[0])  # what the database holds after the crash
    with pytest.raises(OutcomeUnknown) as err:
        adapter.push(crashed)
    assert "not sent again" in err.value.info
    assert fake.creations() == before


def test_a_refused_publish_clears_the_marker_so_a_retry_may_post(adapter, fake, user):
    page = user["page_id"]
    ctx = make_ctx("page/post", {"id": page, "message": "dup"}, user["access_token"])
    adapter.push(make_ctx("page/post", {"id": page, "message": "dup"}, user["access_token"]))
    with pytest.raises(InvalidInput):
        adapter.push(ctx)  # Facebook's duplicate check: nothing was created
    assert "post_id_publishing" not in ctx.hooks.saved[-1]


# --------------------------------------------------------------------------- second edition


def test_video_goes_to_the_one_graph_host_of_the_settings(fake, user, tmp_path, server):
    """graph-video.facebook.com is deprecated: video calls use PUSHWIRE_FACEBOOK_API_URL
    like every other call (there is no separate video host setting)."""
    from app.config import Settings

    settings = Settings(facebook_api_url=server.url)
    assert not hasattr(settings, "facebook_video_api_url")
    adapter = FacebookAdapter.from_settings(settings)
    adapter.poll_max = 0.01
    outcome = adapter.push(_video_ctx(user, tmp_path, mp4(3000)))
    assert fake.videos[outcome.provider_ids["video_id"]].status == "ready"
    assert {p for _, p, _ in api_calls(fake) if p.endswith("/videos")} == {f"/v27.0/{user['page_id']}/videos"}


def test_the_graph_version_is_a_setting_defaulting_to_a_current_one():
    from app.config import Settings

    settings = Settings()
    assert settings.facebook_graph_version == "v27.0"  # v21.0 is served only until 2027-01-21
    assert "/v27.0/" in settings.facebook_authorize_url
    assert FacebookAdapter.from_settings(settings).version == "v27.0"


def test_upload_complete_and_other_intermediate_statuses_are_waited_out(adapter, fake, user, tmp_path):
    fake.upload_complete_polls = 3
    outcome = adapter.push(_video_ctx(user, tmp_path, mp4(3000)))
    assert fake.videos[outcome.provider_ids["video_id"]].status == "ready"
    assert fake.calls.count(endpoint="status") >= 5  # 3 x upload_complete, processing, ready


def test_a_failed_phase_is_a_processing_failure_with_its_reason(adapter, fake, user, tmp_path):
    fake.fail_next_video("Audio track unreadable")
    with pytest.raises(ProcessingFailed) as err:
        adapter.push(_video_ctx(user, tmp_path, mp4(3000)))
    assert "Audio track unreadable" in err.value.info and "push it again" in err.value.info


def test_a_redelivery_whose_finish_never_ran_sends_it_despite_a_complete_upload_phase(adapter, fake, user, tmp_path):
    """All bytes in makes ``uploading_phase`` complete, but only ``publishing_phase``
    shows that finish ran: a task killed between its finish marker and the call must
    send finish, not skip it and wait for a video that will never be published."""
    data = mp4(3000)
    ctx = _video_ctx(user, tmp_path, data)
    fake.faults.add("video_finish", "reset")  # finish never reaches Facebook
    with pytest.raises(OutcomeUnknown):
        adapter.push(ctx)
    again = _video_ctx(user, tmp_path, data)
    again.progress = dict(ctx.hooks.saved[-1])  # the progress a redelivered task reads back
    assert again.progress["upload"]["finishing"] and not again.progress["upload"].get("finished")
    outcome = adapter.push(again)
    video = fake.videos[outcome.provider_ids["video_id"]]
    assert video.finished and video.status == "ready" and video["sha256"] == hashlib.sha256(data).hexdigest()


def test_the_resync_subcode_wins_over_is_transient(adapter, fake, user, tmp_path):
    """Facebook flags 1363037 transient; its error_data says where to resume, so it is
    read first (as the official SDK's video_uploader does), not retried blindly."""
    data = mp4(5 * MiB + 7)
    ctx = _video_ctx(user, tmp_path, data)
    _inject_after_first_window(fake, ctx, "reset_after_commit")
    with pytest.raises(TransientError):
        adapter.push(ctx)
    adapter.push(ctx)
    assert fake.calls.count(endpoint="video_transfer", status=400) == 1  # one resync answer, then on


def test_comment_authors_carry_the_picture_url_graph_gives_not_a_token_less_one(adapter, fake, user, tmp_path):
    outcome = adapter.push(_video_ctx(user, tmp_path, mp4(3000)))
    fake.add_comment(outcome.provider_ids["video_id"], "Bob", "hi")
    (comment,) = adapter.list_comments("page/video", outcome.provider_ids, user["access_token"])
    url = comment["author"]["profile_image_url"]
    assert url.startswith("https://platform-lookaside.fbsbx.com/") and "graph.facebook.com" not in url
