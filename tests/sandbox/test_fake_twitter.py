"""The fake X API v2 driven over HTTP with requests, as an adapter would drive X."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import subprocess
import sys
import time
import zlib

import pytest
import requests

from sandbox.common import MiB, serve
from sandbox.samples import padded_video
from sandbox.twitter import create_app
from tests.support.media import make_clip

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
INVALID_TOKEN = {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
BASIC = "Basic " + base64.b64encode(b"sandbox-client:sandbox-secret").decode()


def mp4(size: int) -> bytes:
    """A real MP4 that X's processing takes, padded to ``size`` bytes (at least the clip)."""
    return padded_video(size, seed=size)


def png(w: int = 3, h: int = 2) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + os.urandom(100)


class XClient:
    """A minimal, correct X client for the tests; ``token`` picks the user."""

    def __init__(self, url: str, fake, token: str):
        self.url, self.fake, self.token = url, fake, token

    def req(self, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        kw.setdefault("timeout", 10)
        return requests.request(method, self.url + path, headers=headers, **kw)

    def init(self, total: int, media_type="video/mp4", category="tweet_video", **kw) -> requests.Response:
        body = {"media_type": media_type, "total_bytes": total, "media_category": category}
        return self.req("POST", "/2/media/upload/initialize", json=body, **kw)

    def append(self, media_id: str, index, chunk: bytes, **kw) -> requests.Response:
        return self.req(
            "POST", f"/2/media/upload/{media_id}/append",
            data={"segment_index": str(index)}, files={"media": ("blob", chunk)}, **kw,
        )

    def finalize(self, media_id: str, **kw) -> requests.Response:
        return self.req("POST", f"/2/media/upload/{media_id}/finalize", **kw)

    def status(self, media_id: str, **kw) -> requests.Response:
        return self.req("GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id}, **kw)

    def tweet(self, text: str | None = None, media_ids=None, **kw) -> requests.Response:
        body = {} if text is None else {"text": text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        return self.req("POST", "/2/tweets", json=body, **kw)

    def upload_video(self, data: bytes, chunk: int = MiB) -> str:
        """initialize + append all + finalize; returns the media id (not yet polled)."""
        media_id = self.init(len(data)).json()["data"]["id"]
        for index, start in enumerate(range(0, len(data), chunk)):
            assert self.append(media_id, index, data[start : start + chunk]).status_code == 200
        assert self.finalize(media_id).status_code == 200
        return media_id

    def poll(self, media_id: str, limit: int = 10) -> list[str]:
        states = []
        for _ in range(limit):
            states.append(self.status(media_id).json()["data"]["processing_info"]["state"])
            if states[-1] in ("succeeded", "failed"):
                break
        return states

    def image(self, data: bytes | None = None) -> requests.Response:
        files = {"media": ("img", data or png())}
        return self.req("POST", "/2/media/upload", data={"media_category": "tweet_image"}, files=files)


@pytest.fixture(scope="module")
def server():
    app = create_app(check_after_secs=0)
    handle = serve(app)
    yield handle, app.extensions["fake"]
    handle.stop()


@pytest.fixture
def x(server) -> XClient:
    handle, fake = server
    fake.reset()
    fake.clock, fake.check_after_secs, fake.processing_polls = time.time, 0, 2
    return XClient(handle.url, fake, fake.add_user("111", "alice")["access_token"])


def invalid_message(resp: requests.Response) -> str:
    body = resp.json()
    assert resp.status_code == 400 and body["type"].endswith("/2/problems/invalid-request"), body
    return body["errors"][0]["message"]


# --------------------------------------------------------------------------- happy paths


def test_full_video_upload_status_and_tweet(x):
    data = mp4(3 * MiB + 12345)
    init = x.init(len(data))
    assert init.status_code == 200
    media_id = init.json()["data"]["id"]
    # initialize answers ~15 days; the 24 h clock starts at finalize
    assert media_id.isdigit() and len(media_id) <= 19 and init.json()["data"]["expires_after_secs"] == 1_295_999
    for index, start in enumerate(range(0, len(data), MiB)):
        resp = x.append(media_id, index, data[start : start + MiB])
        assert resp.status_code == 200 and resp.json()["data"]["expires_at"] > time.time()
    final = x.finalize(media_id).json()["data"]
    assert final["processing_info"] == {"state": "pending", "check_after_secs": 0, "progress_percent": 0}
    assert final["size"] == len(data) and final["video"] == {"video_type": "video/mp4"}
    assert x.tweet("too early", [media_id]).status_code == 400
    first = x.status(media_id).json()["data"]["processing_info"]
    assert (first["state"], first["progress_percent"]) == ("in_progress", 50)
    done = x.status(media_id).json()["data"]["processing_info"]
    assert (done["state"], done["progress_percent"]) == ("succeeded", 100)
    posted = x.tweet("hello world", [media_id])
    assert posted.status_code == 201
    tweet = posted.json()["data"]
    assert tweet["text"] == "hello world" and tweet["edit_history_tweet_ids"] == [tweet["id"]]
    record = x.fake.media[media_id]
    assert record["sha256"] == hashlib.sha256(data).hexdigest() and record["owner"] == "111"
    assert record["segments"] == {0: MiB, 1: MiB, 2: MiB, 3: 12345} and record["total_bytes"] == len(data)
    assert x.fake.append_calls(media_id) == 4 and x.fake.tweets[0]["media_ids"] == [media_id]
    assert x.req("GET", f"/_sandbox/media/{media_id}").json()["sha256"] == record["sha256"]
    assert x.req("GET", f"/2/tweets/{tweet['id']}").json()["data"]["id"] == tweet["id"]


def test_rate_limit_headers_count_down_and_429(x):
    x.fake.set_rate_limit("tweets", 2)
    first, second = x.tweet("one"), x.tweet("two")
    assert first.headers["x-rate-limit-limit"] == "2"
    assert (first.headers["x-rate-limit-remaining"], second.headers["x-rate-limit-remaining"]) == ("1", "0")
    third = x.tweet("three")
    assert third.status_code == 429 and third.json() == TOO_MANY
    assert third.headers["x-rate-limit-remaining"] == "0" and int(third.headers["x-rate-limit-reset"]) > time.time()
    assert "Retry-After" not in third.headers
    # Other endpoints and other users have their own counters.
    assert x.image().headers["x-rate-limit-limit"] == "500"
    bob = x.fake.add_user("222", "bob")["access_token"]
    assert x.tweet("three", token=bob).status_code == 201
    x.fake.advance(901)
    assert x.tweet("three").status_code == 201


def test_one_shot_images_and_media_mix(x):
    resp = x.image(png(640, 480))
    assert resp.status_code == 200
    data = resp.json()["data"]
    assert data["image"] == {"image_type": "image/png", "w": 640, "h": 480} and "processing_info" not in data
    assert data["media_key"] == f"3_{data['id']}" and data["expires_after_secs"] == 86400
    ids = [data["id"]] + [x.image().json()["data"]["id"] for _ in range(4)]
    assert x.tweet("four", ids[:4]).status_code == 201
    assert invalid_message(x.tweet("five", ids)) == "media.media_ids must hold 1 to 4 ids."
    video = x.upload_video(mp4(1000))
    x.poll(video)
    assert "1 GIF, or 1 video" in invalid_message(x.tweet("mix", [video, ids[0]]))
    assert x.tweet(None, [video]).status_code == 201  # text may be omitted with media
    assert "not a JPEG" in invalid_message(x.image(b"not an image at all"))
    big = b"\xff\xd8\xff" + bytes(5 * MiB)
    assert "at most" in invalid_message(x.image(big))


def test_command_style_upload(x):
    data = mp4(1500)
    form = {"command": "INIT", "media_type": "video/mp4", "total_bytes": str(len(data)), "media_category": "tweet_video"}
    media_id = x.req("POST", "/2/media/upload", data=form).json()["data"]["id"]
    for index, part in enumerate((data[:1000], data[1000:])):
        form = {"command": "APPEND", "media_id": media_id, "segment_index": str(index)}
        assert x.req("POST", "/2/media/upload", data=form, files={"media": part}).status_code == 200
    final = x.req("POST", "/2/media/upload", data={"command": "FINALIZE", "media_id": media_id})
    assert final.json()["data"]["processing_info"]["state"] == "pending"
    assert x.poll(media_id) == ["in_progress", "succeeded"]
    assert x.fake.media[media_id]["sha256"] == hashlib.sha256(data).hexdigest()
    assert "command must be" in invalid_message(x.req("POST", "/2/media/upload", data={"command": "NOPE"}))


def test_json_bodies_base64_and_strict_types(x):
    as_text = {"media_type": "video/mp4", "total_bytes": "8", "media_category": "tweet_video"}
    assert "integer" in invalid_message(x.req("POST", "/2/media/upload/initialize", json=as_text))
    media_id = x.init(8).json()["data"]["id"]
    segment = {"segment_index": 0, "media": base64.b64encode(b"\0\0\0\x08ftyp").decode()}
    assert x.req("POST", f"/2/media/upload/{media_id}/append", json=segment).status_code == 200
    assert "base64" in invalid_message(x.req("POST", f"/2/media/upload/{media_id}/append", json={**segment, "media": "%%"}))
    assert x.finalize(media_id).status_code == 200
    other = x.init(8).json()["data"]["id"]
    text_part = x.req("POST", f"/2/media/upload/{other}/append", data={"segment_index": "0", "media": "abc"})
    assert "file part" in invalid_message(text_part)  # werkzeug would mangle binary text fields


# --------------------------------------------------------------------------- auth and tokens


def test_bad_missing_expired_and_app_only_tokens(x):
    assert x.tweet("hi", token="not-issued").json() == UNAUTHORIZED
    no_auth = requests.post(x.url + "/2/tweets", json={"text": "hi"}, timeout=5)
    assert no_auth.status_code == 401 and no_auth.json() == UNAUTHORIZED
    x.fake.expire_token(x.token)
    expired = x.init(100)
    assert expired.status_code == 401 and expired.json() == UNAUTHORIZED
    app_token = x.req("POST", "/_sandbox/tokens/app").json()["access_token"]
    refused = x.tweet("hi", token=app_token)
    assert refused.status_code == 403 and refused.json()["title"] == "Unsupported Authentication"
    user = x.req("POST", "/_sandbox/users", json={"username": "carol", "scope": "tweet.read users.read"}).json()
    assert x.tweet("hi", token=user["access_token"]).status_code == 403  # no tweet.write scope
    assert x.fake.tweets == []


def test_refresh_rotates_and_spends_old_token(x):
    user = x.req("POST", "/_sandbox/users", json={"username": "dora", "expires_in": 7200}).json()
    assert set(user) >= {"user_id", "username", "access_token", "refresh_token", "expires_in"}
    form = {"grant_type": "refresh_token", "refresh_token": user["refresh_token"]}
    resp = requests.post(x.url + "/2/oauth2/token", data=form, headers={"Authorization": BASIC}, timeout=5)
    body = resp.json()
    assert resp.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 7200
    assert body["refresh_token"] != user["refresh_token"] and "offline.access" in body["scope"]
    assert x.tweet("fresh", token=body["access_token"]).status_code == 201
    again = requests.post(x.url + "/2/oauth2/token", data=form, headers={"Authorization": BASIC}, timeout=5)
    assert again.status_code == 400 and again.json() == INVALID_TOKEN
    # Public client: client_id in the form instead of Basic auth.
    public = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": "sandbox-client"}
    assert requests.post(x.url + "/2/oauth2/token", data=public, timeout=5).status_code == 200
    wrong = requests.post(x.url + "/2/oauth2/token", data=form, headers={"Authorization": "Basic eDp5"}, timeout=5)
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized_client"


def test_revoked_refresh_token(x):
    user = x.fake.add_user("333", "erin")
    x.fake.revoke_refresh(user["refresh_token"])
    form = {"grant_type": "refresh_token", "refresh_token": user["refresh_token"]}
    resp = requests.post(x.url + "/2/oauth2/token", data=form, headers={"Authorization": BASIC}, timeout=5)
    assert resp.status_code == 400 and resp.json() == INVALID_TOKEN


# --------------------------------------------------------------------------- upload refusals


def test_initialize_refusals(x):
    assert "greater than 0" in invalid_message(x.init(0))
    assert x.init(536870913).status_code == 200, "X's video cap is not 512 MB"
    assert "exceeds" in invalid_message(x.init(16 * 1024**3 + 1))
    assert "exceeds" in invalid_message(x.init(15 * MiB + 1, "image/gif", "tweet_gif"))
    assert "does not match" in invalid_message(x.init(100, "video/mp4", "tweet_gif"))
    no_category = x.req("POST", "/2/media/upload/initialize", json={"media_type": "video/mp4", "total_bytes": 10})
    assert "required for video" in invalid_message(no_category)
    assert x.init(536870912).status_code == 200


def test_append_refusals(x):
    media_id = x.init(20 * MiB).json()["data"]["id"]
    assert "not contiguous" in invalid_message(x.append(media_id, 1, b"a" * 10))  # must start at 0
    assert x.append(media_id, 0, b"a" * (5 * MiB)).status_code == 200  # exactly 5 MiB is fine
    assert "at most" not in invalid_message(x.append(media_id, 2, b"b" * 10))
    assert "1 to 5242880 bytes" in invalid_message(x.append(media_id, 1, b"b" * (5 * MiB + 1)))
    assert "0 to 999" in invalid_message(x.append(media_id, 1000, b"b"))
    assert "0 to 999" in invalid_message(x.append(media_id, "-1", b"b"))
    assert "0 to 999" in invalid_message(x.append(media_id, "one", b"b"))
    assert x.append(media_id, 1, b"b" * 10).status_code == 200
    assert "already received;" in invalid_message(x.append(media_id, 0, b"a" * 10))
    assert "different bytes" in invalid_message(x.append(media_id, 1, b"c" * 10))
    assert x.append(media_id, 1, b"b" * 10).status_code == 200  # identical re-send: no-op
    assert x.fake.media[media_id]["segments"] == {0: 5 * MiB, 1: 10}
    assert "does not match" in invalid_message(x.append("12ab", 0, b"a"))
    bob = x.fake.add_user("222", "bob")["access_token"]
    assert "not found" in invalid_message(x.append(media_id, 2, b"a", token=bob))


def test_finalize_byte_mismatch_then_complete(x):
    data = mp4(3000)
    media_id = x.init(len(data)).json()["data"]["id"]
    x.append(media_id, 0, data[:2000])
    assert "Segments do not add up" in invalid_message(x.finalize(media_id))
    x.append(media_id, 1, data[2000:])
    assert x.finalize(media_id).status_code == 200
    assert x.finalize(media_id).json()["data"]["processing_info"]["state"] == "pending"  # retry is safe
    assert "already finalized" in invalid_message(x.append(media_id, 2, b"x"))


def test_processing_failed_stuck_and_poll_pacing(x):
    x.fake.fail_next_media("Unsupported video codec")
    failed = x.upload_video(mp4(500))
    assert x.poll(failed) == ["in_progress", "failed"]
    info = x.status(failed).json()["data"]["processing_info"]
    assert info["error"] == {"code": 1, "name": "InvalidMedia", "message": "Unsupported video codec"}
    assert x.tweet("failed media", [failed]).status_code == 400
    x.req("POST", "/_sandbox/processing", json={"outcome": "stuck"})
    stuck = x.upload_video(mp4(500))
    assert x.poll(stuck, limit=5) == ["in_progress"] * 5
    garbage = x.upload_video(os.urandom(500))  # not an MP4: processing fails like on X
    assert x.poll(garbage)[-1] == "failed"
    # A client that polls before check_after_secs does not see progress.
    x.fake.check_after_secs, now = 5, [1_000_000.0]
    x.fake.clock = lambda: now[0]
    paced = x.upload_video(mp4(500))
    assert x.status(paced).json()["data"]["processing_info"] == {
        "state": "pending", "progress_percent": 0, "check_after_secs": 5}
    now[0] += 5
    assert x.status(paced).json()["data"]["processing_info"]["state"] == "in_progress"


def test_expired_media_is_refused(x):
    image_id = x.image().json()["data"]["id"]
    x.req("POST", f"/_sandbox/media/{image_id}/expire")
    assert "Your media IDs are invalid." in invalid_message(x.tweet("late", [image_id]))
    media_id = x.init(100).json()["data"]["id"]
    x.fake.advance(1_296_000)
    assert x.append(media_id, 0, b"a").status_code == 401  # the 2 h token died first
    x.token = x.fake.add_user("111", "alice")["access_token"]
    assert "expired" in invalid_message(x.append(media_id, 0, b"a"))


# --------------------------------------------------------------------------- tweet refusals


def test_tweet_text_rules_and_duplicates(x):
    assert "too long" in invalid_message(x.tweet("a" * 281))
    assert x.tweet("a" * 280).status_code == 201
    assert x.tweet("b" * 256 + " https://example.com/" + "x" * 200).status_code == 201  # URL weighs 23
    assert "too long" in invalid_message(x.tweet("漢" * 141))
    assert "required unless media" in invalid_message(x.tweet(""))
    dup = x.tweet("a" * 280)
    assert dup.status_code == 403
    assert dup.json()["detail"] == "You are not allowed to create a Tweet with duplicate content."
    assert "not recognized" in invalid_message(x.req("POST", "/2/tweets", json={"text": "x", "bogus": 1}))
    assert "distinct strings" in invalid_message(x.req("POST", "/2/tweets", json={"media": {"media_ids": [1]}}))
    assert x.req("POST", "/2/tweets", json={"text": "geo", "geo": {"place_id": "5a110d312052166f"}}).status_code == 201


def test_delete_and_lookup(x):
    tweet_id = x.tweet("to delete").json()["data"]["id"]
    bob = x.fake.add_user("222", "bob")["access_token"]
    assert x.req("DELETE", f"/2/tweets/{tweet_id}", token=bob).status_code == 403
    deleted = x.req("DELETE", f"/2/tweets/{tweet_id}")
    assert deleted.status_code == 200 and deleted.json() == {"data": {"deleted": True}}
    assert x.req("DELETE", f"/2/tweets/{tweet_id}").status_code == 404
    assert x.req("GET", f"/2/tweets/{tweet_id}").status_code == 404
    assert x.fake.tweets == [] and x.fake.deleted_tweets[0]["id"] == tweet_id
    assert x.req("GET", "/2/nothing-here").json() == {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}


# --------------------------------------------------------------------------- faults


def add_fault(x: XClient, **body) -> None:
    assert x.req("POST", "/_sandbox/faults", json=body).status_code == 201


def test_fault_429_with_and_without_retry_after(x):
    add_fault(x, endpoint="tweets", kind="429")
    plain = x.tweet("hi")
    assert plain.status_code == 429 and plain.json() == TOO_MANY and "Retry-After" not in plain.headers
    assert plain.headers["x-rate-limit-remaining"] == "0"
    assert time.time() < int(plain.headers["x-rate-limit-reset"]) <= time.time() + 3
    add_fault(x, endpoint="append", kind="429", retry_after=7)
    media_id = x.init(10).json()["data"]["id"]
    told = x.append(media_id, 0, b"a" * 10)
    assert told.status_code == 429 and told.headers["Retry-After"] == "7"
    assert int(told.headers["x-rate-limit-reset"]) >= time.time() + 6
    assert x.fake.tweets == [] and x.fake.media[media_id]["segments"] == {}


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_fault_server_errors(x, kind):
    add_fault(x, endpoint="finalize", kind=kind)
    resp = x.finalize("123")
    assert resp.status_code == int(kind) and resp.json()["status"] == int(kind)
    assert resp.headers["x-rate-limit-limit"] == "1875"


def test_fault_503_after_commit_stores_the_tweet(x):
    add_fault(x, endpoint="tweets", kind="503", after_commit=True)
    assert x.tweet("maybe posted").status_code == 503
    assert [t["text"] for t in x.fake.tweets] == ["maybe posted"]
    assert x.tweet("maybe posted").status_code == 403  # a blind resend is a duplicate


def test_fault_reset_before_work_stores_nothing(x):
    media_id = x.init(2 * MiB).json()["data"]["id"]
    add_fault(x, endpoint="append", kind="reset")
    with pytest.raises(requests.ConnectionError):
        x.append(media_id, 0, b"a" * MiB)
    assert x.fake.media[media_id]["segments"] == {}
    assert x.append(media_id, 0, b"a" * MiB).status_code == 200
    add_fault(x, endpoint="tweets", kind="reset")
    with pytest.raises(requests.ConnectionError):
        x.tweet("lost")
    assert x.fake.tweets == []
    assert ("POST", "/2/tweets", 0) in x.fake.calls.calls()


def test_fault_reset_after_commit_on_append_then_identical_resend(x):
    data = mp4(2 * MiB)
    media_id = x.init(len(data)).json()["data"]["id"]
    add_fault(x, endpoint="append", kind="reset_after_commit")
    with pytest.raises(requests.ConnectionError):
        x.append(media_id, 0, data[:MiB])
    assert x.fake.media[media_id]["segments"] == {0: MiB}
    assert x.append(media_id, 0, data[:MiB]).status_code == 200  # the client's retry
    assert x.append(media_id, 1, data[MiB:]).status_code == 200
    assert x.finalize(media_id).status_code == 200
    assert x.fake.media[media_id]["sha256"] == hashlib.sha256(data).hexdigest()
    assert x.fake.append_calls(media_id) == 3


def test_fault_slow_expired_token_and_token_endpoint(x):
    add_fault(x, endpoint="status", kind="slow", delay=0.5)
    with pytest.raises(requests.Timeout):
        x.req("GET", "/2/media/upload", params={"media_id": "1"}, timeout=0.2)
    add_fault(x, endpoint="image", kind="expired_token")
    assert x.image().json() == UNAUTHORIZED
    assert x.image().status_code == 200  # one-shot: the next call works again
    add_fault(x, endpoint="token", kind="503")
    user = x.fake.add_user("444", "fay")
    form = {"grant_type": "refresh_token", "refresh_token": user["refresh_token"]}
    assert requests.post(x.url + "/2/oauth2/token", data=form, headers={"Authorization": BASIC}, timeout=5).status_code == 503
    assert requests.post(x.url + "/2/oauth2/token", data=form, headers={"Authorization": BASIC}, timeout=5).status_code == 200
    add_fault(x, endpoint="token", kind="429", retry_after=2)
    limited = requests.post(x.url + "/2/oauth2/token", data=form, headers={"Authorization": BASIC}, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    bad = x.req("POST", "/_sandbox/faults", json={"endpoint": "nope", "kind": "500"})
    assert bad.status_code == 400


def test_usage_capped_fault_and_call_log(x):
    add_fault(x, endpoint="*", kind="usage_capped")
    capped = x.tweet("hi")
    assert capped.status_code == 429 and capped.json()["type"].endswith("/2/problems/usage-capped")
    calls = x.req("GET", "/_sandbox/calls").json()["calls"]
    assert calls[-1] == {"method": "POST", "path": "/2/tweets", "status": 429, "endpoint": "tweets", "fault": "usage_capped"}


def test_module_runs_standalone():
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.twitter", "--port", "0", "--user", "demo"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        tokens = proc.stdout.readline()
        url = proc.stdout.readline().split()[-1]
        assert '"username": "demo"' in tokens
        assert requests.get(url + "/_sandbox/health", timeout=5).json() == {"ok": True, "provider": "x"}
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        proc.stdout.close()


def test_processing_judges_codecs_like_x(x):
    """MP4 signature alone is not enough: X's processing refuses MPEG-4 Part 2 video,
    4:2:2 pixels, HE-AAC audio and pictures over 1280x1024 (InvalidMedia)."""
    cases = {
        "Unsupported video codec mpeg4": make_clip("mpeg4", seconds=1, codecs=("-c:v", "mpeg4", "-c:a", "aac")),
        "Unsupported pixel format yuv422p": make_clip("mpeg4", seconds=1, codecs=(
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv422p", "-c:a", "aac")),
        "Video dimensions 1920x1080": make_clip("mpeg4", seconds=1, size="1920x1080", fps=2, codecs=(
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")),
        "Unsupported container (mov,mp4,m4a,3gp,3g2,mj2)": make_clip("3gpp", seconds=1),
    }
    for message, clip in cases.items():
        media_id = x.upload_video(clip)
        assert x.poll(media_id)[-1] == "failed", message
        error = x.status(media_id).json()["data"]["processing_info"]["error"]
        assert error["name"] == "InvalidMedia" and error["message"].startswith(message), error
        assert x.fake.media[media_id].probe["video"]["codec"]
    good = x.upload_video(make_clip("mpeg4", seconds=1))
    assert x.poll(good)[-1] == "succeeded"
    assert x.fake.media[good].probe["audio"] == {"codec": "aac", "profile": "LC", "sample_rate": 22050,
                                                 "channels": 1}


# --------------------------------------------------------------------------- second edition


def test_alt_text_metadata(x):
    image_id = x.image().json()["data"]["id"]
    body = {"id": image_id, "metadata": {"alt_text": {"text": "a cat"}}}
    resp = x.req("POST", "/2/media/metadata", json=body)
    assert resp.status_code == 200 and resp.json()["data"]["associated_metadata"]["alt_text"]["text"] == "a cat"
    assert x.fake.media[image_id]["alt_text"] == "a cat"
    too_long = {"id": image_id, "metadata": {"alt_text": {"text": "x" * 1001}}}
    assert "1000" in invalid_message(x.req("POST", "/2/media/metadata", json=too_long))


def test_animated_gif_must_be_chunked_as_tweet_gif(x):
    frame = b"\x21\xf9\x04\x00\x0a\x00\x00\x00\x2c" + bytes(9) + b"\x02\x02\x44\x01\x00"
    gif = b"GIF89a\x04\x00\x03\x00\x00\x00\x00" + frame * 2 + b"\x3b"
    assert "tweet_gif" in invalid_message(x.image(gif))
    media_id = x.init(len(gif), media_type="image/gif", category="tweet_gif").json()["data"]["id"]
    assert x.append(media_id, 0, gif).status_code == 200 and x.finalize(media_id).status_code == 200
    assert x.poll(media_id)[-1] == "succeeded"


def test_media_id_lives_24_hours_after_finalize(x):
    media_id = x.upload_video(mp4(2000))
    x.poll(media_id)
    x.token = x.fake.add_user("111", "alice", expires_in=10**7)["access_token"]
    x.fake.advance(86401)
    assert "expired" in invalid_message(x.status(media_id))


def test_24_hour_user_limit_headers_and_429(x):
    x.fake.set_daily_limit("tweets", user=2)
    first = x.tweet("one")
    assert first.headers["x-user-limit-24hour-limit"] == "2" and first.headers["x-user-limit-24hour-remaining"] == "1"
    assert x.tweet("two").status_code == 201
    refused = x.tweet("three")
    assert refused.status_code == 429 and refused.headers["x-user-limit-24hour-remaining"] == "0"
    assert int(refused.headers["x-rate-limit-remaining"]) > 0, "the 15-minute window is not what ran out"
    assert int(refused.headers["x-user-limit-24hour-reset"]) > time.time() + 23 * 3600


def test_usage_capped_arrives_with_requests_left_in_the_window(x):
    x.fake.faults.add("tweets", "usage_capped")
    capped = x.tweet("capped")
    assert capped.status_code == 429 and capped.json()["type"].endswith("/2/problems/usage-capped")
    assert int(capped.headers["x-rate-limit-remaining"]) > 0


def test_weighted_length_counts_cjk_emoji_and_bare_domains(x):
    assert "too long" in invalid_message(x.tweet("日本語" * 47))  # 141 characters, 282 weighted
    assert "too long" in invalid_message(x.tweet("a" * 265 + " example.com"))
    assert x.tweet("日本語" * 46).status_code == 201


def test_video_longer_than_the_users_cap_is_refused_at_post_time(x):
    media_id = x.upload_video(mp4(2000))
    x.poll(media_id)
    x.fake.set_video_duration(media_id, 21 * 60)
    refused = x.tweet("long", [media_id])
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This user is not allowed to post a video longer than 20 minutes."
    x.fake.set_subscription("111", "Premium")
    assert x.tweet("long", [media_id]).status_code == 201
