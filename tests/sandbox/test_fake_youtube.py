"""The fake YouTube Data API v3 driven over HTTP with requests: it refuses protocol
violations as YouTube does, and its fault and quota knobs work."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
import requests

from sandbox.youtube import create_app
from tests.support.fakes import served

Q = 256 * 1024
VIDEO = b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 4096  # 1 MiB + 12 bytes


@pytest.fixture(scope="module")
def server():
    yield from served(create_app(processing_seconds=0.2))


@pytest.fixture()
def fake(server):
    server.state.reset()
    return server.state


@pytest.fixture()
def yt(server, fake):
    return Client(server.url, fake.add_user("7", "bob"))


class Client:
    """A minimal, correct YouTube client for the tests."""

    def __init__(self, url: str, user: dict):
        self.url, self.user = url, user

    def req(self, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.user['access_token']}", **kw.pop("headers", {})}
        return requests.request(method, path if path.startswith("http") else self.url + path, headers=headers,
                                allow_redirects=False, timeout=10, **kw)

    def open(self, total: int = len(VIDEO), title: str = "Clip", params=None, **headers) -> requests.Response:
        params = params if params is not None else {"uploadType": "resumable", "part": "snippet,status"}
        return self.req("POST", "/upload/youtube/v3/videos", params=params,
                        json={"snippet": {"title": title}, "status": {"privacyStatus": "private"}},
                        headers={"X-Upload-Content-Length": str(total), "X-Upload-Content-Type": "video/mp4",
                                 **headers})

    def put(self, uri: str, first: int, data: bytes, total: int = len(VIDEO)) -> requests.Response:
        rng = f"bytes {first}-{first + len(data) - 1}/{total}"
        return self.req("PUT", uri, data=data, headers={"Content-Range": rng, "Content-Type": "video/mp4"})

    def query(self, uri: str, total: int = len(VIDEO)) -> requests.Response:
        return self.req("PUT", uri, data=b"", headers={"Content-Range": f"bytes */{total}"})

    def upload(self, data: bytes = VIDEO) -> str:
        uri = self.open(len(data)).headers["Location"]
        done = self.put(uri, 0, data, len(data))
        assert done.status_code == 201
        return done.json()["id"]


def reason(resp: requests.Response) -> str:
    return resp.json()["error"]["errors"][0]["reason"]


def test_session_open_is_checked_strictly(yt):
    assert reason(yt.open(params={"part": "snippet,status"})) == "invalidUploadType"
    assert reason(yt.open(params={"uploadType": "resumable", "part": "snippet,bogus"})) == "unexpectedPart"
    assert yt.open(total=0).status_code == 400
    assert reason(yt.open(title="x" * 101)) == "invalidTitle"
    assert reason(yt.open(title="a <script>")) == "invalidTitle"
    resp = yt.req("POST", "/upload/youtube/v3/videos", token="nope",
                  params={"uploadType": "resumable", "part": "snippet"}, json={})
    assert resp.status_code == 401 and reason(resp) == "authError" and resp.json()["error"]["status"] == "UNAUTHENTICATED"
    ok = yt.open()
    assert ok.status_code == 200 and "upload_id=" in ok.headers["Location"]


def test_chunks_must_follow_the_resumable_rules(yt, fake):
    uri = yt.open().headers["Location"]
    fresh = yt.query(uri)
    assert fresh.status_code == 308 and "Range" not in fresh.headers  # nothing committed yet
    assert yt.put(uri, 0, VIDEO[: Q + 1]).status_code == 400  # non-final, not a multiple of 256 KiB
    assert yt.put(uri, Q, VIDEO[Q : 2 * Q]).status_code == 400  # does not start at the committed offset
    assert yt.put(uri, 0, VIDEO[:Q], total=len(VIDEO) + 1).status_code == 400  # total differs
    resp = yt.put(uri, 0, VIDEO[:Q])
    assert resp.status_code == 308 and resp.headers["Range"] == f"bytes=0-{Q - 1}"
    assert yt.query(uri).headers["Range"] == f"bytes=0-{Q - 1}"
    done = yt.put(uri, Q, VIDEO[Q:])
    assert done.status_code == 201 and done.json()["kind"] == "youtube#video" and len(done.json()["id"]) == 11
    assert yt.query(uri).status_code == 200  # a status query of a finished upload returns the video
    assert yt.put(uri, Q, VIDEO[Q:]).status_code == 400  # no bytes after completion
    session = fake.session_for_video(done.json()["id"])
    assert session.ranges == [(0, Q - 1, Q), (Q, len(VIDEO) - 1, len(VIDEO))]


def test_reset_mid_chunk_commits_part_rounded_to_256_kib(yt, fake):
    uri = yt.open().headers["Location"]
    fake.faults.add("chunk", "reset_mid_chunk", fraction=0.7)
    with pytest.raises(requests.ConnectionError):
        yt.put(uri, 0, VIDEO[: 4 * Q])
    assert yt.query(uri).headers["Range"] == f"bytes=0-{2 * Q - 1}"  # 0.7 * 4Q rounded down to 2Q
    assert yt.put(uri, 2 * Q, VIDEO[2 * Q :]).status_code == 201


def test_new_location_and_expired_sessions(yt, fake):
    uri = yt.open().headers["Location"]
    fake.faults.add("chunk", "new_location")
    moved = yt.put(uri, 0, VIDEO[:Q])
    assert moved.status_code == 308 and moved.headers["Location"] != uri
    assert yt.query(uri).status_code == 404  # the old URI is retired
    assert yt.query(moved.headers["Location"]).headers["Range"] == f"bytes=0-{Q - 1}"
    fake.expired_session_status = 410
    fake.advance(fake.session_lifetime + 1)
    yt.user = {**yt.user, **fake.refresh(yt.user["refresh_token"])}  # a week later: a fresh token
    assert yt.query(moved.headers["Location"]).status_code == 410


def test_processing_goes_uploaded_then_processed_and_knobs_fail_it(yt, fake):
    video_id = yt.upload()
    status = yt.req("GET", "/youtube/v3/videos", params={"part": "status,processingDetails", "id": video_id})
    item = status.json()["items"][0]
    assert item["status"]["uploadStatus"] == "uploaded" and item["processingDetails"]["processingStatus"] == "processing"
    fake.advance(1)
    assert yt.req("GET", "/youtube/v3/videos", params={"part": "status", "id": video_id}).json()[
        "items"][0]["status"]["uploadStatus"] == "processed"
    fake.reject_next_video("duplicate")
    rejected = yt.upload()
    fake.advance(1)
    got = yt.req("GET", "/youtube/v3/videos", params={"part": "status", "id": rejected}).json()["items"][0]
    assert got["status"] == {**got["status"], "uploadStatus": "rejected", "rejectionReason": "duplicate"}
    assert yt.req("GET", "/youtube/v3/videos", params={"id": video_id}).status_code == 400  # part is required


def test_fault_knobs_answer_in_googles_shape(yt, fake):
    fake.faults.add("videos.list", "429")
    resp = yt.req("GET", "/youtube/v3/videos", params={"part": "id", "id": "x"})
    assert resp.status_code == 429 and reason(resp) == "rateLimitExceeded" and "Retry-After" not in resp.headers
    fake.faults.add("videos.list", "rateLimitExceeded", retry_after=5)
    resp = yt.req("GET", "/youtube/v3/videos", params={"part": "id", "id": "x"})
    assert resp.status_code == 403 and resp.headers["Retry-After"] == "5"
    assert resp.json()["error"]["errors"][0]["domain"] == "usageLimits"
    fake.faults.add("videos.list", "503")
    assert reason(yt.req("GET", "/youtube/v3/videos", params={"part": "id", "id": "x"})) == "backendError"
    fake.faults.add("videos.list", "expired_token")
    assert yt.req("GET", "/youtube/v3/videos", params={"part": "id", "id": "x"}).status_code == 401
    fake.expire_token(yt.user["access_token"])
    assert reason(yt.req("GET", "/youtube/v3/videos", params={"part": "id", "id": "x"})) == "authError"


@pytest.mark.parametrize("model,limits,allowed", [("legacy", {"units": 3300}, 2), ("current", {"insert_calls": 1}, 1)])
def test_quota_models_and_the_daily_upload_cap(yt, fake, model, limits, allowed):
    fake.set_quota(model=model, **limits)
    assert [yt.open().status_code for _ in range(allowed)] == [200] * allowed
    refused = yt.open()
    assert refused.status_code == 403 and reason(refused) == "quotaExceeded"
    assert refused.json()["error"]["errors"][0]["domain"] == "youtube.quota"
    fake.reset()
    fake.set_quota(uploads_per_channel=0)
    yt.user = fake.add_user("8", "carol")
    assert reason(yt.open()) == "uploadLimitExceeded"


def test_token_endpoint_refreshes_until_revoked_or_testing_expiry(server, fake):
    user = fake.add_user("9", "dan")
    form = {"client_id": "sandbox-client", "client_secret": "sandbox-secret", "grant_type": "refresh_token",
            "refresh_token": user["refresh_token"]}
    ok = requests.post(server.url + "/token", data=form, timeout=5)
    assert ok.status_code == 200 and "refresh_token" not in ok.json() and ok.json()["expires_in"] == 3599
    assert requests.post(server.url + "/token", data={**form, "client_secret": "x"}, timeout=5).status_code == 401
    fake.testing_app = True
    fake.advance(8 * 86400)
    dead = requests.post(server.url + "/token", data=form, timeout=5)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


def test_playlist_items_and_sections_are_checked(yt, fake):
    video_id = yt.upload()
    item = {"snippet": {"playlistId": yt.user["playlist_id"], "position": 0,
                        "resourceId": {"kind": "youtube#video", "videoId": video_id}}}
    assert yt.req("POST", "/youtube/v3/playlistItems", params={"part": "snippet"}, json=item).status_code == 200
    unsorted = fake.add_playlist(yt.user["channel_id"], manual_sort=False)
    item["snippet"]["playlistId"] = unsorted
    assert reason(yt.req("POST", "/youtube/v3/playlistItems", params={"part": "snippet"}, json=item)) == \
        "manualSortRequired"
    item["snippet"]["resourceId"]["videoId"] = "nonexistent"
    assert reason(yt.req("POST", "/youtube/v3/playlistItems", params={"part": "snippet"}, json=item)) == "videoNotFound"

    def section(**snippet):
        body = {"snippet": snippet, "contentDetails": {"playlists": snippet.pop("playlists", [])}}
        return yt.req("POST", "/youtube/v3/channelSections", params={"part": "snippet,contentDetails"}, json=body)

    pl = yt.user["playlist_id"]
    assert section(type="singlePlaylist", playlists=[pl, unsorted]).status_code == 400
    assert [section(type="singlePlaylist", playlists=[pl]).status_code for _ in range(10)] == [200] * 10
    assert reason(section(type="recentUploads")) == "maxChannelSectionExceeded"


def test_comment_threads_page_and_refuse_when_disabled(yt, fake):
    video_id = yt.upload()
    for n in range(5):
        fake.add_comment(video_id, f"fan{n}", f"comment {n}")
    params = {"part": "snippet", "videoId": video_id, "maxResults": 2}
    first = yt.req("GET", "/youtube/v3/commentThreads", params=params).json()
    texts = [i["snippet"]["topLevelComment"]["snippet"]["textOriginal"] for i in first["items"]]
    assert texts == ["comment 4", "comment 3"] and first["nextPageToken"]
    pages = 1
    while "nextPageToken" in first:
        first = yt.req("GET", "/youtube/v3/commentThreads", params={**params, "pageToken": first["nextPageToken"]}).json()
        pages += 1
    assert pages == 3
    assert yt.req("GET", "/youtube/v3/commentThreads", params={**params, "maxResults": 101}).status_code == 400
    fake.disable_comments(video_id)
    assert reason(yt.req("GET", "/youtube/v3/commentThreads", params=params)) == "commentsDisabled"


def test_standalone_server_starts():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.youtube", "--port", str(port), "--user", "eve"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert "access_token" in proc.stdout.readline()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert health.json() == {"ok": True, "provider": "youtube"}
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        proc.stdout.close()


# --------------------------------------------------------------------------- second-edition rules


def test_an_access_token_dies_after_its_call_budget_and_chunks_need_one(yt, fake):
    """A long upload outlives Google's hour-long tokens: the fake lets a token make
    ``token_call_limit`` calls (30 by default), then answers 401 authError; the chunk
    PUTs carry the Bearer token too (and cost no quota)."""
    assert fake.token_call_limit == 30
    fake.token_call_limit = 3
    uri = yt.open().headers["Location"]
    assert yt.put(uri, 0, VIDEO[:Q]).status_code == 308
    assert yt.query(uri).status_code == 308
    refused = yt.put(uri, Q, VIDEO[Q:2 * Q])
    assert refused.status_code == 401 and reason(refused) == "authError"
    assert yt.req("PUT", uri, token="nope", data=b"", headers={"Content-Range": f"bytes */{len(VIDEO)}"}
                  ).status_code == 401
    yt.user = {**yt.user, **fake.refresh(yt.user["refresh_token"])}
    assert yt.put(uri, Q, VIDEO[Q:2 * Q]).headers["Range"] == f"bytes=0-{2 * Q - 1}"  # nothing was lost
    assert fake.usage[(fake.day(), "units")] == 0  # chunks are free; only the insert bucket was charged


def test_channel_sections_refuse_style_and_accept_upcoming_events(yt, fake):
    body = {"snippet": {"type": "upcomingEvents", "position": 0}}
    made = yt.req("POST", "/youtube/v3/channelSections", params={"part": "snippet"}, json=body)
    assert made.status_code == 200 and made.json()["snippet"]["type"] == "upcomingEvents"
    styled = yt.req("POST", "/youtube/v3/channelSections", params={"part": "snippet"},
                    json={"snippet": {"type": "recentUploads", "style": "horizontalRow"}})
    assert styled.status_code == 400 and "style" in styled.json()["error"]["message"]


def test_videos_insert_max_size_is_256_gib(yt, fake):
    from sandbox.youtube.upload import MAX_SIZE

    assert MAX_SIZE == 274_877_906_944
    assert yt.open(total=200 * 1024**3).status_code == 200
    too_big = yt.open(total=MAX_SIZE + 1)
    assert too_big.status_code == 413 and reason(too_big) == "uploadTooLarge"


def test_processing_polls_come_out_of_the_shared_unit_pool(yt, fake):
    video_id = yt.upload()
    fake.set_quota(units=3)
    for _ in range(3):
        assert yt.req("GET", "/youtube/v3/videos", params={"part": "status", "id": video_id}).status_code == 200
    assert reason(yt.req("GET", "/youtube/v3/videos", params={"part": "status", "id": video_id})) == "quotaExceeded"
