"""The fake LinkedIn driven over HTTP with requests, as an adapter would drive LinkedIn."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from sandbox.linkedin import create_app
from tests.support.fakes import served

VERSION = "202608"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(500)


@pytest.fixture(scope="module")
def server():
    yield from served(create_app())


@pytest.fixture()
def fake(server):
    server.state.reset()
    server.state.set_live_versions("202511", "202612")
    return server.state


@pytest.fixture()
def user(fake):
    return fake.add_user("m1", "alice")


class LI:
    """A minimal, correct LinkedIn client for the tests."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url, token

    def headers(self, **override) -> dict:
        headers = {"Authorization": f"Bearer {self.token}", "LinkedIn-Version": VERSION,
                   "X-Restli-Protocol-Version": "2.0.0", **override}
        return {k: v for k, v in headers.items() if v is not None}

    def req(self, method: str, path: str, headers: dict | None = None, **kw) -> requests.Response:
        url = path if path.startswith("http") else self.url + path
        return requests.request(method, url, headers=headers or self.headers(), timeout=10, **kw)

    def post(self, author: str, text: str = "hello", headers: dict | None = None, **extra) -> requests.Response:
        body = {"author": author, "commentary": text, "visibility": "PUBLIC",
                "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                                 "thirdPartyDistributionChannels": []},
                "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False, **extra}
        return self.req("POST", "/rest/posts", headers=headers, json=body)

    def init_image(self, owner: str) -> requests.Response:
        return self.req("POST", "/rest/images?action=initializeUpload",
                        json={"initializeUploadRequest": {"owner": owner}})

    def put(self, upload_url: str, data: bytes, **headers) -> requests.Response:
        return requests.put(upload_url, data=data, timeout=10,
                            headers={"Authorization": f"Bearer {self.token}", **headers})


@pytest.fixture()
def li(server, user):
    return LI(server.url, user["access_token"])


ME = "urn:li:person:m1"


def test_post_answers_201_with_urn_header_and_empty_body(li, fake):
    resp = li.post(ME, "Hi \\(all\\)")
    assert resp.status_code == 201 and resp.content == b""
    urn = resp.headers["x-restli-id"]
    assert urn.startswith("urn:li:share:") and len(urn.rsplit(":", 1)[1]) == 19
    assert fake.posts[0]["text"] == "Hi (all)" and fake.posts[0]["truncated"] is False
    assert li.req("DELETE", "/rest/posts/" + requests.utils.quote(urn, safe="")).status_code == 204
    assert fake.deleted_posts[0]["id"] == urn


@pytest.mark.parametrize("override,status,code", [
    ({"LinkedIn-Version": None}, 400, "VERSION_MISSING"),
    ({"LinkedIn-Version": "202401"}, 426, "NONEXISTENT_VERSION"),
    ({"X-Restli-Protocol-Version": None}, 400, "RESTLI_PROTOCOL_VERSION_MISSING"),
    ({"Authorization": "Bearer nope"}, 401, "INVALID_ACCESS_TOKEN"),
])
def test_headers_and_token_are_required(li, fake, override, status, code):
    resp = li.post(ME, headers=li.headers(**override))
    assert resp.status_code == status and resp.json()["code"] == code
    assert resp.json()["status"] == status and resp.json()["message"]
    assert fake.posts == []


def test_author_rules(li, fake, user):
    assert li.post("urn:li:person:someone-else").status_code == 403
    other_org = fake.add_organization("x9")
    assert li.post(f"urn:li:organization:{other_org}").status_code == 403
    fake.add_organization("m1", "777", role="ANALYST")
    assert li.post("urn:li:organization:777").status_code == 403
    assert li.post("urn:li:organization:777").json()["status"] == 403
    assert li.post(f"urn:li:organization:{user['organization_id']}").status_code == 201
    assert li.post("me").status_code == 422
    assert li.post(ME, "x", extra_field=1).status_code == 422
    assert len(fake.posts) == 1


def test_scope_is_required(server, fake):
    member = fake.add_user("m2", "carol", scope="openid profile")
    assert LI(server.url, member["access_token"]).post("urn:li:person:m2").status_code == 403


def test_unescaped_reserved_characters_truncate_or_are_refused(li, fake):
    assert li.post(ME, "before (after)").status_code == 201
    assert fake.posts[0]["truncated"] is True and fake.posts[0]["text"] == "before "
    fake.unescaped = "reject"
    assert li.post(ME, "other (text)").status_code == 422


def test_duplicate_commentary_is_422_naming_the_original(li, fake):
    urn = li.post(ME, "same").headers["x-restli-id"]
    resp = li.post(ME, "same")
    assert resp.status_code == 422 and urn in resp.json()["message"]


def test_image_upload_is_one_full_put_by_the_owner(li, fake, user):
    value = li.init_image(ME).json()["value"]
    assert value["image"].startswith("urn:li:image:") and value["uploadUrlExpiresAt"] > time.time() * 1000
    url = value["uploadUrl"]
    assert li.put(url, PNG[:100], **{"Content-Range": "bytes 0-99/508"}).status_code == 400
    assert li.put(url, PNG).status_code == 201
    assert li.put(url, PNG).status_code == 400, "a second PUT is refused"
    image = fake.images[value["image"]]
    assert image.size == len(PNG) and len(image.puts) == 1
    org = f"urn:li:organization:{user['organization_id']}"
    resp = li.post(org, "wrong owner", content={"media": {"id": value["image"]}})
    assert resp.status_code == 403 and "media resource" in resp.json()["message"]
    assert li.post(ME, "right owner", content={"media": {"id": value["image"]}}).status_code == 201
    encoded = requests.utils.quote(value["image"], safe="")
    assert li.req("GET", "/rest/images/" + encoded).json()["status"] == "AVAILABLE"
    assert li.req("GET", "/rest/images/" + value["image"]).status_code == 400, "URNs in paths must be encoded"


def test_image_not_uploaded_or_expired_is_refused(li, fake):
    value = li.init_image(ME).json()["value"]
    assert li.post(ME, "early", content={"media": {"id": value["image"]}}).status_code == 422
    fake.expire_image_upload(value["image"])
    assert li.put(value["uploadUrl"], PNG).status_code == 403


def test_processing_failure_knob(li, fake):
    fake.faults.add("image_upload", "processing_failed")
    value = li.init_image(ME).json()["value"]
    assert li.put(value["uploadUrl"], PNG).status_code == 201
    assert fake.images[value["image"]].status == "PROCESSING_FAILED"
    resp = li.post(ME, "bad", content={"media": {"id": value["image"]}})
    assert resp.status_code == 422 and "PROCESSING_FAILED" in resp.json()["message"]


def test_daily_limit_until_simulated_midnight(li, fake):
    fake.set_daily_limit(member=2)
    assert li.post(ME, "a").status_code == 201 and li.post(ME, "b").status_code == 201
    resp = li.post(ME, "c")
    assert resp.status_code == 429 and resp.json()["status"] == 429
    assert "Retry-After" not in resp.headers and not any(h.lower().startswith("x-rate") for h in resp.headers)
    fake.advance(86400 - fake.now() % 86400 + 1)
    assert li.post(ME, "c").status_code == 201


@pytest.mark.parametrize("kind", ["429", "500", "503", "expired_token", "426", "403", "422"])
def test_fault_knobs_answer_in_linkedin_shape(li, fake, kind):
    fake.faults.add("posts", kind)
    resp = li.post(ME, f"fault {kind}")
    expected = 401 if kind == "expired_token" else int(kind)
    assert resp.status_code == expected and resp.json()["status"] == expected
    assert fake.posts == []
    assert li.post(ME, f"fault {kind}").status_code == 201, "a fault is used once"


def test_429_retry_after_is_opt_in(li, fake):
    fake.faults.add("posts", "429", retry_after=7)
    assert li.post(ME).headers["Retry-After"] == "7"


def test_resets_before_and_after_commit(li, fake):
    fake.faults.add("posts", "reset")
    with pytest.raises(requests.ConnectionError):
        li.post(ME, "lost")
    assert fake.posts == []
    fake.faults.add("posts", "reset_after_commit")
    with pytest.raises(requests.ConnectionError):
        li.post(ME, "committed")
    assert [p["text"] for p in fake.posts] == ["committed"]
    assert [c[2] for c in fake.calls.calls()] == [0, 0]


def test_refresh_only_for_partner_apps(server, fake, user):
    form = {"grant_type": "refresh_token", "refresh_token": user["refresh_token"],
            "client_id": "sandbox-client", "client_secret": "sandbox-secret"}
    resp = requests.post(server.url + "/oauth/v2/accessToken", data=form, timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["refresh_token"] == user["refresh_token"] and body["expires_in"] == 5184000
    assert body["access_token"] != user["access_token"]
    assert requests.post(server.url + "/oauth/v2/accessToken", data={**form, "client_secret": "x"},
                         timeout=10).status_code == 401
    fake.revoke_refresh(user["refresh_token"])
    resp = requests.post(server.url + "/oauth/v2/accessToken", data=form, timeout=10)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
    assert fake.add_user("np", "dave", partner=False)["refresh_token"] is None


def test_expired_token_gets_401_with_service_code(li, fake, user):
    fake.expire_token(user["access_token"])
    resp = li.post(ME)
    assert resp.status_code == 401 and resp.json()["serviceErrorCode"] == 65601


def test_standalone_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.linkedin", "--port", str(port), "--user", "eve"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert "access_token" in proc.stdout.readline()
        deadline = time.time() + 10
        while True:
            try:
                resp = requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1)
                break
            except requests.ConnectionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        assert resp.json() == {"ok": True, "provider": "linkedin"}
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        proc.stdout.close()


def test_version_window_follows_the_clock(fake):
    fake.live_versions = None
    fake.clock = lambda: 1_790_000_000.0  # 2026-09-21
    assert fake.version_window() == ("202509", "202610")


def test_userinfo_and_organization_acls(li, user):
    assert li.req("GET", "/v2/userinfo").json()["sub"] == "m1"
    acls = li.req("GET", "/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED").json()
    assert acls["elements"] == [{"roleAssignee": ME, "state": "APPROVED", "role": "ADMINISTRATOR",
                                 "organization": f"urn:li:organization:{user['organization_id']}"}]


# -- second edition ----------------------------------------------------------------------------


def test_post_with_an_image_still_processing_is_refused(li, fake):
    fake.image_processing_secs = 30
    value = li.init_image(ME).json()["value"]
    assert li.put(value["uploadUrl"], b"\x89PNG\r\n\x1a\n" + os.urandom(100)).status_code == 201
    content = {"media": {"id": value["image"]}}
    resp = li.post(ME, "too early", content=content)
    assert resp.status_code == 422 and resp.json()["code"] == "MEDIA_NOT_READY"
    assert li.req("GET", "/rest/images/" + quote(value["image"], safe="")).json()["status"] == "PROCESSING"
    fake.advance(31)
    assert li.req("GET", "/rest/images/" + quote(value["image"], safe="")).json()["status"] == "AVAILABLE"
    assert li.post(ME, "now", content=content).status_code == 201


def test_unpublished_and_sunset_versions_answer_426(server, fake):
    fake.live_versions = None
    fake.clock = lambda: 1_796_000_000.0  # 2026-11-30
    li = LI(server.url, fake.add_user("m1", "alice")["access_token"])
    assert li.post(ME, "ok", headers=li.headers(**{"LinkedIn-Version": "202608"})).status_code == 201
    for version in ("202512", "202610", "202510"):  # never published, never published, sunset
        resp = li.post(ME, "x", headers=li.headers(**{"LinkedIn-Version": version}))
        assert resp.status_code == 426 and resp.json()["code"] == "NONEXISTENT_VERSION", version


def test_throttle_429_is_not_the_daily_limit(li, fake):
    fake.faults.add("posts", "429")
    resp = li.post(ME, "throttled")
    assert resp.status_code == 429 and "DAY" not in resp.json()["message"] and not resp.headers.get("Retry-After")
    fake.faults.add("posts", "quota")
    assert "MEMBER DAY limit" in li.post(ME, "daily").json()["message"]


def test_hashtags_and_links_are_not_little_text(li, fake):
    text = "See #launch at https://example.com/a_b(1) and \\#not"
    assert li.post(ME, text).status_code == 201
    post = fake.posts[-1]
    assert post["text"] == "See #launch at https://example.com/a_b(1) and #not" and not post["truncated"]
    assert post["hashtags"] == ["launch"] and post["urls"] == ["https://example.com/a_b(1)"]
    assert li.post(ME, "escaped link https://example.com/a\\_b").status_code == 201
    assert fake.posts[-1]["urls"] == ["https://example.com/a\\_b"], "an escape inside a link is shown as is"


def test_organization_scopes_need_community_management(server, fake):
    params = {"response_type": "code", "client_id": "sandbox-client", "redirect_uri": "https://app.example/cb",
              "state": "s1", "scope": "openid profile w_member_social w_organization_social"}
    resp = requests.get(server.url + "/oauth/v2/authorization", params=params, allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    back = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert back["error"] == ["unauthorized_scope_error"] and back["state"] == ["s1"]
    member_only = {**params, "scope": "openid profile w_member_social"}
    resp = requests.get(server.url + "/oauth/v2/authorization", params=member_only, allow_redirects=False, timeout=10)
    assert resp.status_code == 200 and "w_member_social" in resp.text
    fake.community_management = True
    resp = requests.get(server.url + "/oauth/v2/authorization", params=params, allow_redirects=False, timeout=10)
    assert resp.status_code == 200 and "w_organization_social" in resp.text
