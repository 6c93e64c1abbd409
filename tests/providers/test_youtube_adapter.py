"""The YouTube adapter against the strict fake served in-process (no mocks of our code).

Each kind succeeds with exactly the expected calls at the fake; each fault class
maps to our exception tree; interrupted uploads resume from the offset YouTube
acknowledged; the refresh grant keeps the refresh token or asks for a reconnect.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import zlib

import pytest

from app.providers.base import PushContext, StagedMedia, TokenHolder
from app.providers.errors import (
    AuthExpired,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProcessingFailed,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from app.providers.fake import RecordingHooks
from app.providers.youtube import YouTubeAdapter
from app.staging import open_store
from sandbox.youtube import create_app
from tests.support.fakes import served

Q = 256 * 1024
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


def video_bytes(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    body = bytearray(MP4_HEAD)
    while len(body) < size:
        body += block
    return bytes(body[:size])


def png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 4, 3, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 200


@pytest.fixture(scope="module")
def server():
    yield from served(create_app(processing_seconds=0.05))


@pytest.fixture()
def fake(server):
    server.state.reset()
    server.state.processing_seconds = 0.05
    return server.state


@pytest.fixture()
def user(fake):
    return fake.add_user("42", "alice")


@pytest.fixture()
def adapter(server):
    return YouTubeAdapter(server.url, client_id="sandbox-client", client_secret="sandbox-secret",
                          token_url=server.url + "/token", chunk_size=Q, poll_interval=0.02, timeout=5)


@pytest.fixture()
def make_ctx(tmp_path, user, adapter, fake):
    store = open_store(f"file://{tmp_path}/st")

    def make(kind="video", data: bytes | None = None, **payload) -> PushContext:
        staged = None
        if data is not None:
            store.write("k", [data])
            staged = StagedMedia(store, "k", len(data), "mpeg4", "video/mp4")
            payload.setdefault("title", "Holiday")
            payload.setdefault("video_url", "https://origin.example/v.mp4")
        # as the worker does: the identity's refresh grant behind a TokenHolder
        tokens = TokenHolder(user["access_token"], refresh=lambda rejected: adapter.refresh(user["refresh_token"]))
        ctx = PushContext(request_token="t", kind=kind, payload=payload, access_token=None, tokens=tokens,
                          provider_user_id=user["user_id"], profile={}, staged=staged,
                          hooks=RecordingHooks(wait=fake.advance))  # waits pass on the fake's clock: few polls
        return ctx

    return make


def endpoints(fake) -> list[str]:
    return [r["endpoint"] for r in fake.calls.records()]


# --------------------------------------------------------------------------- kinds


def test_video_upload_in_chunks_polls_processing_and_returns_the_contract_data(fake, adapter, make_ctx):
    data = video_bytes(2 * Q + 1000)
    ctx = make_ctx(data=data, description="Sun", tags=["a", "b"], category_id="22", privacy_status="unlisted")
    outcome = adapter.push(ctx)

    video_id = outcome.provider_ids["video_id"]
    video = fake.videos[video_id]
    assert len(video_id) == 11 and video.sha256 == hashlib.sha256(data).hexdigest()
    assert video.snippet["title"] == "Holiday" and video.snippet["tags"] == ["a", "b"]
    assert video.status["privacyStatus"] == "unlisted"
    calls = endpoints(fake)
    assert calls[:4] == ["insert", "chunk", "chunk", "chunk"] and set(calls[4:]) == {"videos.list"}
    assert fake.session_for_video(video_id).ranges == [(0, Q - 1, Q), (Q, 2 * Q - 1, 2 * Q),
                                                      (2 * Q, len(data) - 1, len(data))]
    assert fake.created["videos"] == 1 and fake.created["sessions"] == 1
    assert outcome.data == {**outcome.data, "provider": "youtube", "object": "video", "video_id": video_id,
                            "url": f"https://www.youtube.com/watch?v={video_id}", "privacy_status": "unlisted"}
    assert outcome.data["thumbnail_url"].startswith("https://i.ytimg.com/")
    assert dt.datetime.strptime(outcome.data["date_creation"][:25], "%a, %d %b %Y %H:%M:%S")
    assert ctx.hooks.saved[0]["session_uri"].startswith(adapter.base_url) and ctx.progress["video_id"] == video_id


def test_thumbnail_is_set_and_its_failure_is_only_a_warning(fake, adapter, make_ctx):
    ctx = make_ctx(data=video_bytes(Q), thumbnail_url="https://origin.example/t.png")
    ctx.hooks.fetch = lambda url, max_bytes: (png(), "png")
    outcome = adapter.push(ctx)
    assert fake.videos[outcome.provider_ids["video_id"]].thumbnail == {"format": "png", "size": len(png())}
    assert "maxresdefault" in outcome.data["thumbnail_url"] and "warnings" not in outcome.data

    fake.faults.add("thumbnails.set", "forbidden")
    ctx = make_ctx(data=video_bytes(Q, seed=1), thumbnail_url="https://origin.example/t.png")
    ctx.hooks.fetch = lambda url, max_bytes: (png(), "png")
    outcome = adapter.push(ctx)
    assert outcome.data["warnings"][0]["reason"] == "permission_denied"
    assert "thumbnail was not set" in outcome.data["warnings"][0]["info"]


def test_playlist_playlist_item_and_section(fake, adapter, make_ctx, user):
    out = adapter.push(make_ctx("playlist", title="Trips", description="All trips", privacy_status="public"))
    playlist_id = out.data["playlist_id"]
    assert fake.playlists[playlist_id]["snippet"]["title"] == "Trips" and len(playlist_id) == 34
    assert out.data["url"] == f"https://www.youtube.com/playlist?list={playlist_id}"

    video_id = adapter.push(make_ctx(data=video_bytes(Q))).provider_ids["video_id"]
    out = adapter.push(make_ctx("playlist/video", playlist_id=playlist_id, video_id=video_id, position=0))
    assert out.data == {**out.data, "object": "video", "playlist_id": playlist_id, "video_id": video_id,
                        "position": 0}
    assert fake.playlists[playlist_id]["items"] == [out.data["playlist_item_id"]]

    out = adapter.push(make_ctx("channel/section", type="singlePlaylist", playlists=[playlist_id]))
    assert out.data["section_id"] in fake.sections and out.data["object"] == "section"
    assert fake.created == {**fake.created, "playlists": 1, "playlistItems": 1, "channelSections": 1}
    assert endpoints(fake).count("playlistItems.insert") == 1


def test_a_redelivered_create_does_not_create_twice(fake, adapter, make_ctx):
    ctx = make_ctx("playlist", title="Once")
    first = adapter.push(ctx)
    again = adapter.push(ctx)  # same progress, as a redelivered task would have
    assert again.data["playlist_id"] == first.data["playlist_id"] and fake.created["playlists"] == 1


# --------------------------------------------------------------------------- resumable faults


def test_reset_mid_chunk_resumes_from_the_acknowledged_offset(fake, adapter, make_ctx):
    adapter.chunk_size = 4 * Q
    data = video_bytes(6 * Q + 77)
    fake.faults.add("chunk", "reset_mid_chunk", fraction=0.6)  # 4Q sent, 2Q committed
    outcome = adapter.push(make_ctx(data=data))
    session = fake.session_for_video(outcome.provider_ids["video_id"])
    assert session.ranges[0] == (0, 4 * Q - 1, 2 * Q)
    # every PUT after the interruption starts at the committed offset: nothing beyond it is sent twice
    for before, after in zip(session.ranges, session.ranges[1:]):
        assert after[0] == before[2]
    assert session.sha256 == hashlib.sha256(data).hexdigest()
    assert endpoints(fake).count("query") == 1 and fake.created["sessions"] == 1


def test_redelivered_task_queries_the_session_and_continues(fake, adapter, make_ctx):
    data = video_bytes(3 * Q + 5)
    ctx = make_ctx(data=data)
    fake.faults.add("chunk", "slow", delay=0)  # the first chunk passes untouched
    fake.faults.add("chunk", "503")  # the second fails: the task ends, to be retried
    with pytest.raises(TransientError):
        adapter.push(ctx)
    assert ctx.progress["session_uri"]
    outcome = adapter.push(ctx)
    session = fake.session_for_video(outcome.provider_ids["video_id"])
    assert endpoints(fake).count("insert") == 1 and endpoints(fake).count("query") == 1
    assert [r[0] for r in session.ranges] == [0, Q, 2 * Q, 3 * Q]  # the 503'd chunk never reached the store
    assert session.sha256 == hashlib.sha256(data).hexdigest()


def test_expired_session_is_replaced_by_a_new_one(fake, adapter, make_ctx):
    data = video_bytes(2 * Q + 9)
    ctx = make_ctx(data=data)
    fake.faults.add("chunk", "503")
    with pytest.raises(TransientError):
        adapter.push(ctx)
    upload_id = ctx.progress["session_uri"].rsplit("=", 1)[1]
    fake.expire_session(upload_id)
    outcome = adapter.push(ctx)
    assert fake.created["sessions"] == 2 and fake.videos[outcome.provider_ids["video_id"]].size == len(data)


def test_lost_answer_to_the_final_chunk_is_settled_by_a_status_query(fake, adapter, make_ctx):
    fake.faults.add("chunk", "reset_after_commit")  # the video is created, the answer lost
    outcome = adapter.push(make_ctx(data=video_bytes(Q + 3)))
    assert fake.created["videos"] == 1 and outcome.provider_ids["video_id"] in fake.videos
    assert endpoints(fake)[:3] == ["insert", "chunk", "query"]


def test_final_chunk_is_outcome_unknown_when_the_status_query_fails_too(fake, adapter, make_ctx):
    fake.faults.add("chunk", "reset")
    fake.faults.add("query", "reset")
    with pytest.raises(OutcomeUnknown):
        adapter.push(make_ctx(data=video_bytes(Q)))


def test_a_new_location_in_a_308_is_honoured(fake, adapter, make_ctx):
    data = video_bytes(3 * Q)
    fake.faults.add("chunk", "new_location")
    outcome = adapter.push(make_ctx(data=data))
    assert fake.videos[outcome.provider_ids["video_id"]].sha256 == hashlib.sha256(data).hexdigest()
    assert fake.created["videos"] == 1


# --------------------------------------------------------------------------- error classes


@pytest.mark.parametrize("kind,params,error,reason", [
    ("429", {}, RateLimited, "rate_limited"),
    ("rateLimitExceeded", {"retry_after": 3}, RateLimited, "rate_limited"),
    ("quotaExceeded", {}, RateLimited, "quota_exceeded"),
    ("503", {}, TransientError, "provider_unavailable"),
    ("uploadLimitExceeded", {}, RateLimited, "upload_limit_exceeded"),
    ("forbidden", {}, PermissionDenied, "permission_denied"),
])
def test_faults_map_to_our_exception_tree(fake, adapter, make_ctx, kind, params, error, reason):
    fake.faults.add("insert", kind, **params)
    with pytest.raises(error) as caught:
        adapter.push(make_ctx(data=video_bytes(Q)))
    assert type(caught.value) is error and caught.value.reason == reason and len(caught.value.info) > 20
    if kind == "rateLimitExceeded":
        assert caught.value.retry_after == 3
    if kind == "quotaExceeded":
        assert 0 < caught.value.retry_after <= 25 * 3600 and "midnight Pacific" in caught.value.info
    if kind == "uploadLimitExceeded":  # the channel's 24 h cap: wait it out, do not fail the push
        assert "UTC (24 hours)" in caught.value.info and caught.value.retry_after == 24 * 3600


def test_real_quota_exhaustion_and_permanent_errors(fake, adapter, make_ctx, user):
    with pytest.raises(InvalidInput) as caught:
        adapter.push(make_ctx(data=video_bytes(Q), title="a <b> title"))
    assert caught.value.reason == "invalid_title"
    with pytest.raises(NotFound) as caught:
        adapter.push(make_ctx("playlist/video", playlist_id="PLnope", video_id="abcdefghijk"))
    assert caught.value.reason == "playlist_not_found"
    unsorted = fake.add_playlist(user["channel_id"], manual_sort=False)
    video_id = adapter.push(make_ctx(data=video_bytes(Q))).provider_ids["video_id"]
    with pytest.raises(InvalidInput) as caught:
        adapter.push(make_ctx("playlist/video", playlist_id=unsorted, video_id=video_id, position=0))
    assert caught.value.reason == "manual_sort_required" and "manually" in caught.value.info
    fake.set_quota(units=0)
    with pytest.raises(RateLimited) as caught:
        adapter.push(make_ctx("playlist", title="No quota"))
    assert caught.value.reason == "quota_exceeded"


@pytest.mark.parametrize("knob,reason", [("fail_next_video", "video_processing_failed"),
                                         ("reject_next_video", "video_rejected")])
def test_processing_failure_is_permanent_with_its_reason(fake, adapter, make_ctx, knob, reason):
    getattr(fake, knob)()
    with pytest.raises(ProcessingFailed) as caught:
        adapter.push(make_ctx(data=video_bytes(Q)))
    assert caught.value.reason == reason and ("codec" in caught.value.info or "duplicate" in caught.value.info)


def test_server_error_on_a_create_is_outcome_unknown(fake, adapter, make_ctx):
    fake.faults.add("playlists.insert", "500", after_commit=True)
    with pytest.raises(OutcomeUnknown):
        adapter.push(make_ctx("playlist", title="Maybe"))


# --------------------------------------------------------------------------- tokens and hooks


def test_refresh_keeps_the_refresh_token_and_a_dead_one_means_reconnect(fake, adapter, user):
    tokens = adapter.refresh(user["refresh_token"])
    assert tokens.access_token != user["access_token"] and tokens.refresh_token == user["refresh_token"]
    assert tokens.expires_at > dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=55)
    fake.revoke_refresh(user["refresh_token"])
    with pytest.raises(ReconnectRequired) as caught:
        adapter.refresh(user["refresh_token"])
    assert "invalid_grant" in caught.value.info and "reconnect" in caught.value.info


def test_refused_client_at_googles_token_endpoint_is_the_operators_problem(server, fake, user):
    """Item 11: Google answers a wrong client secret with 401 ``invalid_client``: the
    operator's to fix (``provider_misconfigured``), not the user's to reconnect."""
    from app.providers.errors import Misconfigured

    bad = YouTubeAdapter(server.url, client_id="sandbox-client", client_secret="rotated",
                         token_url=server.url + "/token", timeout=5)
    with pytest.raises(Misconfigured) as caught:
        bad.refresh(user["refresh_token"])
    assert caught.value.reason == "provider_misconfigured"
    assert "PUSHWIRE_YOUTUBE_CLIENT_SECRET" in caught.value.info


def test_refresh_that_works_once_and_token_endpoint_outage(fake, adapter, user):
    fake.limit_refresh(user["refresh_token"], uses=1)
    adapter.refresh(user["refresh_token"])
    with pytest.raises(ReconnectRequired):
        adapter.refresh(user["refresh_token"])
    fake.faults.add("token", "503")
    with pytest.raises(TransientError):
        adapter.refresh("anything")


def test_comments_exists_and_delete(fake, adapter, make_ctx, user):
    video_id = adapter.push(make_ctx(data=video_bytes(Q))).provider_ids["video_id"]
    ids = {"video_id": video_id}
    for n in range(3):
        fake.add_comment(video_id, f"fan{n}", f"nice {n}")
    comments = adapter.list_comments("video", ids, user["access_token"])
    assert [c["text"] for c in comments] == ["nice 0", "nice 1", "nice 2"]
    assert comments[0]["author"]["name"] == "fan0" and comments[0]["author"]["profile_image_url"]
    later = adapter.list_comments("video", ids, user["access_token"], since=comments[0]["created_at"])
    assert [c["text"] for c in later] == ["nice 1", "nice 2"]
    fake.disable_comments(video_id)
    assert adapter.list_comments("video", ids, user["access_token"]) == []

    assert adapter.exists("video", ids, user["access_token"]) is True
    assert adapter.delete("video", ids, user["access_token"]) is True
    assert adapter.exists("video", ids, user["access_token"]) is False and fake.deleted == [video_id]


def test_an_interrupted_create_is_not_sent_again(fake, adapter, make_ctx):
    ctx = make_ctx("playlist", title="Interrupted")
    adapter.push(ctx)
    (marker, value), = ctx.hooks.saved[0].items()  # saved before the insert, alone
    assert marker.startswith("created:") and marker.endswith("/playlists_publishing") and value is True
    crashed = make_ctx("playlist", title="Interrupted")
    crashed.progress = dict(ctx.hooks.saved[0])
    with pytest.raises(OutcomeUnknown):
        adapter.push(crashed)
    assert fake.created["playlists"] == 1


# --------------------------------------------------------------------------- second edition: tokens


def test_an_upload_outlives_several_tokens_refreshing_on_every_401(fake, adapter, make_ctx):
    """Google tokens live an hour; a long upload and its processing wait outlive several.
    The fake kills a token after 4 calls: 31 chunks + polls need ~8 tokens."""
    fake.token_call_limit = 4
    data = video_bytes(31 * Q)
    outcome = adapter.push(make_ctx(data=data))
    session = fake.session_for_video(outcome.provider_ids["video_id"])
    assert session.sha256 == hashlib.sha256(data).hexdigest()
    assert [r[0] for r in session.ranges] == [n * Q for n in range(31)]  # a refused chunk is sent again, once
    assert fake.calls.count(endpoint="token", status=200) >= 7
    assert fake.created["sessions"] == 1 and fake.created["videos"] == 1


def test_refreshes_are_bounded_per_call_not_per_task(fake, adapter, make_ctx):
    """A token refused at its first use twice in a row ends the call: AuthExpired, no loop."""
    fake.token_call_limit = 0  # every token is refused
    with pytest.raises(AuthExpired):
        adapter.push(make_ctx("playlist", title="Never"))
    assert fake.calls.count(endpoint="token", status=200) == 2 and fake.created["playlists"] == 0


def test_a_token_near_expiry_is_replaced_before_the_call(fake, adapter, user, make_ctx):
    from app.providers.base import TokenSet

    fake.expire_token(user["access_token"])  # it would be refused: it must not even be sent
    loads = []

    def load():
        loads.append(1)
        return adapter.refresh(user["refresh_token"])

    ctx = make_ctx("playlist", title="Fresh")
    ctx.tokens = TokenHolder(user["access_token"], dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2),
                             load=load)
    adapter.push(ctx)
    assert loads == [1] and fake.calls.count(status=401) == 0 and isinstance(load(), TokenSet)


def test_the_generic_run_refreshes_for_adapters_that_read_ctx_access_token(fake, adapter, user, make_ctx):
    """Adapters that build their own Authorization header raise AuthExpired on a 401;
    ``ProviderAdapter.run`` refreshes and runs the push again, as often as tokens expire."""
    from app.providers.base import ProviderAdapter, PushOutcome
    from app.providers.youtube.errors import translate

    class Plain(ProviderAdapter):
        name = "youtube"

        def push(self, ctx):
            done = ctx.progress.setdefault("done", 0)
            for _ in range(done, 9):
                resp = self.request("GET", "/youtube/v3/videos", params={"part": "id", "id": "x"},
                                    headers={"Authorization": f"Bearer {ctx.access_token}"})
                if resp.status_code != 200:
                    raise translate(resp)
                ctx.progress["done"] += 1
            return PushOutcome({}, {"calls": ctx.progress["done"]})

    fake.token_call_limit = 2
    plain = Plain(adapter.base_url, timeout=5)
    assert plain.run(make_ctx("playlist", title="x")).data == {"calls": 9}
    assert fake.calls.count(endpoint="token", status=200) == 4
    fake.token_call_limit = 0
    with pytest.raises(AuthExpired) as caught:
        plain.run(make_ctx("playlist", title="x"))
    assert caught.value.reason == "token_expired" and "reconnect the account" in caught.value.info


# --------------------------------------------------------------------------- second edition: limits


def test_processing_polls_back_off_so_they_fit_the_shared_quota(fake, server, make_ctx, user):
    """Each videos.list poll costs a unit of the project's 10,000; a 5-minute processing
    wait polled every 2 s costs 150. Polls start at 5 s and grow to 60 s."""
    adapter = YouTubeAdapter(server.url, client_id="sandbox-client", client_secret="sandbox-secret",
                             token_url=server.url + "/token", chunk_size=Q, timeout=5)
    assert (adapter.poll_interval, adapter.poll_max) == (5.0, 60.0)
    fake.processing_seconds = 300
    fake.set_quota(units=12)
    ctx = make_ctx(data=video_bytes(Q))
    outcome = adapter.push(ctx)
    waits = ctx.hooks.slept
    assert fake.videos[outcome.provider_ids["video_id"]].outcome == "processed"
    assert waits[:5] == [5, 10, 20, 40, 60] and set(waits[5:]) == {60}
    assert fake.calls.count(endpoint="videos.list") <= 10


@pytest.mark.parametrize("kind", ["503", "rateLimitExceeded", "expired_token"])
def test_a_transient_or_401_thumbnail_failure_is_retried_not_dropped(fake, adapter, make_ctx, kind):
    fake.faults.add("thumbnails.set", kind)
    ctx = make_ctx(data=video_bytes(Q), thumbnail_url="https://origin.example/t.png")
    ctx.hooks.fetch = lambda url, max_bytes: (png(), "png")
    outcome = adapter.push(ctx)
    assert "warnings" not in outcome.data
    assert fake.videos[outcome.provider_ids["video_id"]].thumbnail == {"format": "png", "size": len(png())}
    assert fake.calls.count(endpoint="thumbnails.set") == 2


def test_a_thumbnail_that_keeps_failing_is_a_warning_after_the_tries(fake, adapter, make_ctx):
    for _ in range(4):
        fake.faults.add("thumbnails.set", "503")
    ctx = make_ctx(data=video_bytes(Q), thumbnail_url="https://origin.example/t.png")
    ctx.hooks.fetch = lambda url, max_bytes: (png(), "png")
    outcome = adapter.push(ctx)
    assert outcome.data["warnings"][0]["reason"] == "provider_unavailable"
    assert "tried 4 times" in outcome.data["warnings"][0]["info"]


def test_channel_sections_send_no_style_and_take_upcoming_events(fake, adapter, make_ctx):
    out = adapter.push(make_ctx("channel/section", type="upcomingEvents", style="horizontalRow"))
    section = fake.sections[out.data["section_id"]]
    assert section["snippet"]["type"] == "upcomingEvents" and "style" not in section["snippet"]


def test_the_size_cap_is_the_discovery_max_size(fake, adapter, make_ctx):
    from sandbox.youtube.upload import MAX_SIZE

    assert YouTubeAdapter.max_video_bytes == MAX_SIZE == 256 * 1024**3
