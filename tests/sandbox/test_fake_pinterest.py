"""The fake Pinterest API v5 driven over HTTP with requests, as an adapter would drive it."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from sandbox.pinterest import create_app
from sandbox.samples import padded_video
from tests.support.media import make_clip
from tests.support.fakes import served

BASIC = "Basic " + base64.b64encode(b"sandbox-client:sandbox-secret").decode()
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
VIDEO = padded_video(60_000, seed=3)  # a real MP4 Pinterest's processing takes


@pytest.fixture(scope="module")
def server():
    yield from served(create_app())


@pytest.fixture()
def fake(server):
    server.state.reset()
    return server.state


@pytest.fixture()
def user(fake):
    return fake.add_user("7", "pat")


def call(server, user, method, path, **kw):
    headers = {"Authorization": f"Bearer {user['access_token']}", **kw.pop("headers", {})}
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kw)


def pin_body(user, **source):
    source = source or {"source_type": "image_base64", "content_type": "image/png",
                        "data": base64.b64encode(PNG).decode()}
    return {"board_id": user["board_id"], "media_source": source}


def form(fields: dict, file: bytes | None = VIDEO, file_first: bool = False) -> list:
    parts = [(name, (None, value)) for name, value in fields.items()]
    if file is not None:
        part = ("file", ("v.mp4", file, "video/mp4"))
        parts = [part, *parts] if file_first else [*parts, part]
    return parts


def register(server, user) -> dict:
    resp = call(server, user, "POST", "/v5/media", json={"media_type": "video"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def upload(media: dict, **kw) -> requests.Response:
    kw.setdefault("files", form(media["upload_parameters"]))
    return requests.post(media["upload_url"], timeout=10, **kw)


# --------------------------------------------------------------------------- token endpoint


def test_token_endpoint_requires_basic_client_auth_and_a_form(server, fake, user):
    body = {"grant_type": "refresh_token", "refresh_token": user["refresh_token"], "continuous_refresh": "true"}
    no_auth = requests.post(server.url + "/v5/oauth/token", data=body, timeout=10)
    assert no_auth.status_code == 401 and set(no_auth.json()) == {"code", "message"}
    as_json = requests.post(server.url + "/v5/oauth/token", json=body, headers={"Authorization": BASIC}, timeout=10)
    assert as_json.status_code == 400
    legacy = requests.post(server.url + "/v5/oauth/token", headers={"Authorization": BASIC}, timeout=10,
                           data={k: v for k, v in body.items() if k != "continuous_refresh"})
    assert legacy.status_code == 400 and "continuous_refresh" in legacy.json()["message"]
    ok = requests.post(server.url + "/v5/oauth/token", data=body, headers={"Authorization": BASIC}, timeout=10)
    assert ok.status_code == 200
    assert {"access_token", "refresh_token", "expires_in", "refresh_token_expires_at"} <= set(ok.json())
    again = requests.post(server.url + "/v5/oauth/token", data=body, headers={"Authorization": BASIC}, timeout=10)
    assert again.status_code == 400  # the old refresh token was spent


# --------------------------------------------------------------------------- pins


@pytest.mark.parametrize("change,status,words", [
    ({"title": "x" * 101}, 400, "title is too long"),
    ({"description": "x" * 801}, 400, "description is too long"),
    ({"board_id": "abc"}, 400, "numeric"),
    ({"board_id": "123456"}, 404, "Board not found"),
    ({"media_source": {"source_type": "image_base64", "content_type": "image/gif",
                       "data": base64.b64encode(b"GIF89a....").decode()}}, 400, "image/jpeg or image/png"),
    ({"media_source": {"source_type": "image_base64", "content_type": "image/jpeg",
                       "data": base64.b64encode(PNG).decode()}}, 400, "is not a image/jpeg"),
    ({"media_source": {"source_type": "image_url", "url": "http://127.0.0.1/x.png"}}, 400, "not reachable"),
    ({"media_source": {"source_type": "multiple_image_urls",
                       "items": [{"url": "https://ex.com/a.png"}]}}, 400, "2 to 5"),
    ({"color": "red"}, 400, "Unknown fields"),
])
def test_pin_creation_is_strict(server, fake, user, change, status, words):
    resp = call(server, user, "POST", "/v5/pins", json={**pin_body(user), **change})
    assert resp.status_code == status and words in resp.json()["message"], resp.text
    assert fake.pins == {}


def test_board_of_another_user_is_404(server, fake, user):
    other = fake.add_user("8", "sam")
    resp = call(server, user, "POST", "/v5/pins", json={**pin_body(user), "board_id": other["board_id"]})
    assert resp.status_code == 404


def test_scopes_are_checked_per_endpoint(server, fake):
    reader = fake.add_user("9", "ro", scope="boards:read pins:read")
    assert call(server, reader, "GET", "/v5/boards").status_code == 200
    resp = call(server, reader, "POST", "/v5/pins", json=pin_body(reader))
    assert resp.status_code == 403 and resp.json()["code"] == 29
    assert call(server, reader, "POST", "/v5/media", json={"media_type": "video"}).status_code == 403


def test_image_pin_created_and_deleted(server, fake, user):
    resp = call(server, user, "POST", "/v5/pins", json={**pin_body(user), "title": "t"})
    assert resp.status_code == 201
    pin = resp.json()
    assert pin["id"].isdigit() and pin["board_id"] == user["board_id"] and pin["media"]["media_type"] == "image"
    assert call(server, user, "DELETE", f"/v5/pins/{pin['id']}").status_code == 204
    assert call(server, user, "GET", f"/v5/pins/{pin['id']}").status_code == 404


# --------------------------------------------------------------------------- video media and the bucket


def test_video_flow_and_media_status(server, fake, user):
    media = register(server, user)
    assert set(media["upload_parameters"]) >= {"key", "policy", "x-amz-signature", "x-amz-credential"}
    status = lambda: call(server, user, "GET", f"/v5/media/{media['media_id']}").json()["status"]  # noqa: E731
    assert status() == "registered"
    early = call(server, user, "POST", "/v5/pins", json=pin_body(
        user, source_type="video_id", media_id=media["media_id"], cover_image_key_frame_time=0))
    assert early.status_code == 400 and "not ready" in early.json()["message"]
    assert upload(media).status_code == 204
    assert [status(), status()] == ["processing", "succeeded"]
    no_cover = call(server, user, "POST", "/v5/pins", json=pin_body(
        user, source_type="video_id", media_id=media["media_id"]))
    assert no_cover.status_code == 400 and "cover_image_key_frame_time" in no_cover.json()["message"]
    ok = call(server, user, "POST", "/v5/pins", json=pin_body(
        user, source_type="video_id", media_id=media["media_id"], cover_image_key_frame_time=0))
    assert ok.status_code == 201 and ok.json()["media"]["media_type"] == "video"
    assert fake.uploads(media["media_id"])[0]["size"] == len(VIDEO)


def test_processing_judges_codecs_and_length_like_pinterest(server, fake, user):
    """An MP4 signature is not enough: MPEG-4 Part 2 video, MP3 audio and clips under
    4 s fail processing, as on Pinterest."""
    cases = {
        "Video codec mpeg4": make_clip("mpeg4", seconds=4.5, codecs=("-c:v", "mpeg4", "-c:a", "aac")),
        "Audio codec mp3": make_clip("mpeg4", seconds=4.5, codecs=(
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "libmp3lame")),
        "Video length 2.0 s": make_clip("mpeg4", seconds=2),
    }
    for message, clip in cases.items():
        media = register(server, user)
        assert upload(media, files=form(media["upload_parameters"], file=clip)).status_code == 204
        body = call(server, user, "GET", f"/v5/media/{media['media_id']}").json()
        while body["status"] == "processing":
            body = call(server, user, "GET", f"/v5/media/{media['media_id']}").json()
        assert body["status"] == "failed", message
        assert fake.media[media["media_id"]].probe["video"]["codec"], message
        assert message in fake.media[media["media_id"]].failure_message


def test_bucket_requires_content_length(server, fake, user):
    media = register(server, user)
    boundary = "b0undary"
    body = b"".join([f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                     for k, v in media["upload_parameters"].items()])
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="v"\r\n\r\n'.encode()
             + VIDEO + f"\r\n--{boundary}--\r\n".encode())
    chunked = requests.post(media["upload_url"], data=iter([body[:100], body[100:]]), timeout=10,
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert chunked.status_code == 411 and b"<Code>MissingContentLength</Code>" in chunked.content
    assert fake.uploads() == []


@pytest.mark.parametrize("tamper,status,code", [
    (lambda p: {**p, "x-amz-signature": "0" * 64}, 403, "AccessDenied"),
    (lambda p: {k: v for k, v in p.items() if k != "policy"}, 403, "AccessDenied"),
    (lambda p: {**p, "acl": "public-read"}, 403, "AccessDenied"),
    (lambda p: {k: v for k, v in p.items() if k != "key"}, 400, "InvalidArgument"),
])
def test_bucket_checks_every_parameter(server, fake, user, tamper, status, code):
    media = register(server, user)
    resp = upload(media, files=form(tamper(media["upload_parameters"])))
    assert resp.status_code == status and f"<Code>{code}</Code>".encode() in resp.content
    assert resp.headers["Content-Type"].startswith("application/xml")


def test_bucket_wants_the_file_last_and_present(server, fake, user):
    media = register(server, user)
    assert upload(media, files=form(media["upload_parameters"], file_first=True)).status_code == 400
    assert upload(media, files=form(media["upload_parameters"], file=None)).status_code == 400
    assert fake.uploads() == []


def test_expired_policy_is_403_xml(server, fake, user):
    media = register(server, user)
    fake.expire_upload(media["media_id"])
    resp = upload(media)
    assert resp.status_code == 403 and b"Policy expired" in resp.content


def test_processing_knobs(server, fake, user):
    fake.fail_next_media("too short")
    failed = register(server, user)
    upload(failed)
    stuck = register(server, user)
    fake.stick_next_media()
    upload(stuck)
    for _ in range(3):
        last_failed = call(server, user, "GET", f"/v5/media/{failed['media_id']}").json()
        last_stuck = call(server, user, "GET", f"/v5/media/{stuck['media_id']}").json()
    assert last_failed == {"media_id": failed["media_id"], "media_type": "video", "status": "failed"}
    assert last_stuck["status"] == "processing"


# --------------------------------------------------------------------------- fault knobs


def test_rate_limit_shape_and_opt_in_retry_after(server, fake, user):
    fake.faults.add("pins", "429")
    fake.faults.add("pins", "429", retry_after=3)
    first = call(server, user, "POST", "/v5/pins", json=pin_body(user))
    second = call(server, user, "POST", "/v5/pins", json=pin_body(user))
    assert first.status_code == 429 and set(first.json()) == {"code", "message"}
    assert "Retry-After" not in first.headers and second.headers["Retry-After"] == "3"


def test_trial_daily_counter(server, fake, user):
    fake.set_trial(2, sandbox_host=True)
    statuses = [call(server, user, "GET", "/v5/boards").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    fake.advance(24 * 3600 + 1)
    resp = call(server, user, "POST", "/v5/pins", json=pin_body(user))
    assert resp.status_code == 201 and fake.pins[resp.json()["id"]]["creator_only"] is True


@pytest.mark.parametrize("kind,status", [("503", 503), ("expired_token", 401), ("quota", 429)])
def test_fault_kinds(server, fake, user, kind, status):
    fake.faults.add("media_create", kind)
    resp = call(server, user, "POST", "/v5/media", json={"media_type": "video"})
    assert resp.status_code == status and "message" in resp.json()
    assert fake.media == {}


def test_reset_and_reset_after_commit(server, fake, user):
    fake.faults.add("pins", "reset")
    with pytest.raises(requests.ConnectionError):
        call(server, user, "POST", "/v5/pins", json=pin_body(user))
    assert fake.pins == {}
    fake.faults.add("pins", "reset_after_commit")
    with pytest.raises(requests.ConnectionError):
        call(server, user, "POST", "/v5/pins", json=pin_body(user))
    assert len(fake.pins) == 1 and fake.calls.calls()[-1] == ("POST", "/v5/pins", 0)


def test_expired_access_token(server, fake, user):
    fake.expire_token(user["access_token"])
    resp = call(server, user, "GET", "/v5/boards")
    assert resp.status_code == 401 and resp.json()["code"] == 2


def test_standalone_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.pinterest", "--port", str(port), "--user", "demo"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert health == {"ok": True, "provider": "pinterest"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_trial_app_may_not_create_pins_on_the_production_host(server, fake, user):
    fake.set_trial(1000)
    resp = call(server, user, "POST", "/v5/pins", json=pin_body(user))
    assert resp.status_code == 403 and resp.json()["code"] == 29
    assert "use API Sandbox https://api-sandbox.pinterest.com" in resp.json()["message"]
    fake.sandbox_host = True
    assert call(server, user, "POST", "/v5/pins", json=pin_body(user)).status_code == 201
