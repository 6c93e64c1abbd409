"""The fake Graph API driven over HTTP: it refuses protocol violations and its knobs work."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from sandbox.common import MiB
from sandbox.facebook import create_app
from tests.support.fakes import served

V = "/v27.0"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200


@pytest.fixture(scope="module")
def server():
    yield from served(create_app(processing_polls=1, windows=(2048, 4096)))


@pytest.fixture()
def fake(server):
    server.state.reset()
    return server.state


@pytest.fixture()
def user(fake):
    return fake.add_user("7", "alice")


@pytest.fixture()
def call(server):
    def do(method: str, path: str, token: str | None = None, **kw) -> requests.Response:
        if token:
            kw.setdefault("headers", {})["Authorization"] = f"Bearer {token}"
        return requests.request(method, server.url + path, timeout=10, **kw)
    return do


def err(resp) -> dict:
    return resp.json()["error"]


def test_paths_must_be_versioned_and_tokens_valid(call, user):
    assert err(call("GET", "/me/accounts", user["access_token"]))["code"] == 100
    assert err(call("GET", f"{V}/me"))["code"] == 104
    assert err(call("GET", f"{V}/me", "garbage"))["code"] == 190
    # All three token placements work.
    assert call("GET", f"{V}/me", user["access_token"]).json()["id"] == "7"
    assert call("GET", f"{V}/me", params={"access_token": user["access_token"]}).json()["id"] == "7"
    assert call("POST", f"{V}/{user['page_id']}/feed",
                data={"access_token": user["page_access_token"], "message": "form token"}).status_code == 200


def test_page_publishing_needs_that_pages_token_with_create_content(call, fake, user):
    page = user["page_id"]
    assert err(call("POST", f"{V}/{page}/feed", user["access_token"], data={"message": "x"}))["code"] == 200
    other = fake.add_user("8", "bob")
    assert err(call("POST", f"{V}/{page}/feed", other["page_access_token"], data={"message": "x"}))["code"] == 200
    fake.set_tasks(page, "7", ("ANALYZE",))
    assert err(call("POST", f"{V}/{page}/feed", user["page_access_token"], data={"message": "x"}))["code"] == 10


def test_profile_and_group_publishing_are_gone_unless_legacy(call, fake, user):
    me = err(call("POST", f"{V}/me/feed", user["access_token"], data={"message": "x"}))
    assert me["code"] == 200 and "publish_actions" in me["message"]
    group = fake.add_group(members=["7"])
    gone = err(call("POST", f"{V}/{group}/feed", user["access_token"], data={"message": "x"}))
    assert gone["code"] == 200 and "publish_to_groups" in gone["message"]
    fake.legacy_groups = True
    assert call("POST", f"{V}/{group}/feed", user["access_token"], data={"message": "x"}).json()["id"]


def test_posts_validate_schedule_attachments_and_duplicates(call, fake, user):
    page, token = user["page_id"], user["page_access_token"]
    feed = f"{V}/{page}/feed"
    assert err(call("POST", feed, token, data={}))["code"] == 100
    soon = int(fake.now()) + 60
    assert err(call("POST", feed, token, data={"message": "s", "published": "false",
                                               "scheduled_publish_time": soon}))["code"] == 100
    assert err(call("POST", feed, token, data={"message": "s", "scheduled_publish_time": soon + 3600}))["code"] == 100
    published = call("POST", f"{V}/{page}/photos", token, files={"source": ("p.png", PNG)}).json()["id"]
    bad = json.dumps([{"media_fbid": published}])
    assert err(call("POST", feed, token, data={"message": "m", "attached_media": bad}))["code"] == 100
    hidden = call("POST", f"{V}/{page}/photos", token, data={"published": "false"},
                  files={"source": ("p.png", PNG)}).json()
    assert "post_id" not in hidden
    good = json.dumps([{"media_fbid": hidden["id"]}])
    assert call("POST", feed, token, data={"message": "m", "attached_media": good}).status_code == 200
    assert call("POST", feed, token, data={"message": "same"}).status_code == 200
    assert err(call("POST", feed, token, data={"message": "same"}))["code"] == 506


def test_photos_must_be_small_jpg_or_png(call, user):
    photos, token = f"{V}/{user['page_id']}/photos", user["page_access_token"]
    gif = err(call("POST", photos, token, files={"source": ("p.gif", b"GIF89a" + b"\0" * 100)}))
    assert gif["error_subcode"] == 1366046
    big = err(call("POST", photos, token, files={"source": ("p.png", PNG + b"\0" * (4 * MiB))}))
    assert big["error_subcode"] == 1366046


def _start(call, user, size: int) -> dict:
    return call("POST", f"{V}/{user['page_id']}/videos", user["page_access_token"],
                data={"upload_phase": "start", "file_size": size}).json()


def _transfer(call, user, session: str, start: int, chunk: bytes):
    return call("POST", f"{V}/{user['page_id']}/videos", user["page_access_token"],
                data={"upload_phase": "transfer", "upload_session_id": session, "start_offset": start},
                files={"video_file_chunk": ("c", chunk)})


def test_upload_phase_enforces_windows_offsets_and_sizes(call, fake, user):
    assert err(call("POST", f"{V}/{user['page_id']}/videos", user["page_access_token"],
                    data={"upload_phase": "start", "file_size": 10}))["error_subcode"] == 1363022
    assert err(call("POST", f"{V}/{user['page_id']}/videos", user["page_access_token"],
                    data={"upload_phase": "start", "file_size": 3 * 1024**3}))["error_subcode"] == 1363023
    data = os.urandom(5000)
    start = _start(call, user, len(data))
    session, end = start["upload_session_id"], int(start["end_offset"])
    assert (start["start_offset"], end) == ("0", 2048)
    assert err(_transfer(call, user, session, 0, data[:100]))["code"] == 100  # not the whole window
    ack = _transfer(call, user, session, 0, data[:end]).json()
    assert ack == {"start_offset": "2048", "end_offset": "5000"}  # server picked a 4096 window, clipped
    resync = err(_transfer(call, user, session, 0, data[:end]))  # a stale offset
    assert resync["error_subcode"] == 1363037 and resync["error_data"] == {"start_offset": "2048", "end_offset": "5000"}
    finish = {"upload_phase": "finish", "upload_session_id": session, "title": "t"}
    assert err(call("POST", f"{V}/{user['page_id']}/videos", user["page_access_token"], data=finish))["code"] == 100
    assert _transfer(call, user, session, 2048, data[2048:]).json() == {"start_offset": "5000", "end_offset": "5000"}
    assert call("POST", f"{V}/{user['page_id']}/videos", user["page_access_token"], data=finish).json() == {
        "success": True}
    video_id = start["video_id"]
    states = [call("GET", f"{V}/{video_id}", user["page_access_token"], params={"fields": "status"}).json()
              ["status"]["video_status"] for _ in range(3)]
    assert states == ["upload_complete", "processing", "ready"]  # upload_complete: an intermediate value
    assert [r[:2] for r in fake.videos[video_id].ranges] == [[0, 2048], [2048, 5000]]
    assert err(call("GET", f"{V}/{video_id}", user["page_access_token"], params={"fields": "nope"}))["code"] == 100


def test_processing_failure_knob(call, fake, user):
    fake.faults.add("video_finish", "processing_failed", message="bad codec")
    start = _start(call, user, 2048)
    _transfer(call, user, start["upload_session_id"], 0, os.urandom(2048))
    call("POST", f"{V}/{user['page_id']}/videos", user["page_access_token"],
         data={"upload_phase": "finish", "upload_session_id": start["upload_session_id"]})
    for _ in range(3):
        status = call("GET", f"{V}/{start['video_id']}", user["page_access_token"],
                      params={"fields": "status"}).json()["status"]
    assert status["video_status"] == "error" and status["processing_phase"]["errors"][0]["message"] == "bad codec"


def test_comments_page_with_cursors_and_can_hide_authors(call, fake, user):
    start = _start(call, user, 2048)
    for n in range(3):
        fake.add_comment(start["video_id"], f"u{n}", f"c{n}", hide_from=(n == 1), created_time=1000 + n)
    first = call("GET", f"{V}/{start['video_id']}/comments", user["page_access_token"],
                 params={"limit": 2, "summary": "true"}).json()
    assert [c["message"] for c in first["data"]] == ["c0", "c1"] and "from" not in first["data"][1]
    assert first["summary"]["total_count"] == 3 and first["paging"]["next"]
    rest = requests.get(first["paging"]["next"], headers={"Authorization": f"Bearer {user['page_access_token']}"},
                        timeout=10).json()
    assert [c["message"] for c in rest["data"]] == ["c2"] and "next" not in rest["paging"]
    assert err(call("GET", f"{V}/{start['video_id']}/comments", user["access_token"]))["code"] == 10


def test_usage_headers_rise_and_throttle_at_100(call, fake, user):
    fake.set_usage_limits(page_calls_per_day=2)
    token = user["page_access_token"]
    first = call("GET", f"{V}/me", token)
    second = call("GET", f"{V}/me", token)
    usage = lambda r: json.loads(r.headers["X-Business-Use-Case-Usage"])[user["page_id"]][0]  # noqa: E731
    assert usage(first)["call_count"] < usage(second)["call_count"]
    third = call("GET", f"{V}/me", token)
    assert err(third)["code"] == 32 and err(third)["is_transient"] is True
    assert usage(third)["estimated_time_to_regain_access"] > 0


def test_fault_knobs_answer_in_facebooks_shape(call, fake, user):
    token = user["access_token"]
    fake.faults.add("accounts", "429", retry_after=2)
    throttled = call("GET", f"{V}/me/accounts", token)
    assert err(throttled)["code"] == 4 and err(throttled)["is_transient"] and throttled.headers["Retry-After"] == "2"
    fake.faults.add("accounts", "429")
    assert "Retry-After" not in call("GET", f"{V}/me/accounts", token).headers  # only when opted in
    fake.faults.add("accounts", "503")
    assert call("GET", f"{V}/me/accounts", token).status_code == 503
    fake.faults.add("accounts", "expired_token")
    expired = err(call("GET", f"{V}/me/accounts", token))
    assert (expired["code"], expired["error_subcode"]) == (190, 463)
    fake.faults.add("accounts", "reset")
    with pytest.raises(requests.ConnectionError):
        call("GET", f"{V}/me/accounts", token)
    fake.expire_token(token)
    assert err(call("GET", f"{V}/me/accounts", token))["error_subcode"] == 463
    fake.kill_token(user["page_access_token"])
    assert err(call("GET", f"{V}/me", user["page_access_token"]))["error_subcode"] == 460


def test_only_the_fb_exchange_token_grant_exists(call, fake, user):
    base = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
    ok = call("GET", f"{V}/oauth/access_token",
              params={**base, "grant_type": "fb_exchange_token", "fb_exchange_token": user["access_token"]}).json()
    assert ok["expires_in"] == 5184000 and call("GET", f"{V}/me", ok["access_token"]).json()["id"] == "7"
    refused = call("GET", f"{V}/oauth/access_token", params={**base, "grant_type": "refresh_token",
                                                              "refresh_token": "x"})
    assert err(refused)["code"] == 100


def test_runs_standalone():
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.facebook", "--port", "0", "--user", "demo"],
                            stdout=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["access_token"] and first["page_id"]
        assert "fake Facebook Graph API on http://127.0.0.1:" in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


# --------------------------------------------------------------------------- second-edition rules


def test_the_deprecated_video_host_is_refused(server, fake, user):
    """graph-video.facebook.com is deprecated: every call goes to graph.facebook.com."""
    path = f"{V}/{user['page_id']}/videos"
    form = {"upload_phase": "start", "file_size": "4096"}
    auth = {"Authorization": f"Bearer {user['page_access_token']}"}
    old = requests.post(server.url + path, data=form, headers={**auth, "Host": "graph-video.facebook.com"},
                        timeout=10)
    assert old.status_code == 500 and "deprecated" in old.json()["error"]["message"]
    same = requests.post(server.url + path, data=form, headers={**auth, "Host": "graph.facebook.com"}, timeout=10)
    assert same.status_code == 200 and same.json()["video_id"]
    fake.legacy_video_host = True
    assert requests.post(server.url + path, data=form, headers={**auth, "Host": "graph-video.facebook.com"},
                         timeout=10).status_code == 200


def test_all_bytes_in_without_finish_is_upload_complete_and_publishing_not_started(call, fake, user):
    start = _start(call, user, 2048)
    _transfer(call, user, start["upload_session_id"], 0, os.urandom(2048))
    status = call("GET", f"{V}/{start['video_id']}", user["page_access_token"],
                  params={"fields": "status"}).json()["status"]
    assert status["video_status"] == "upload_complete" and status["uploading_phase"]["status"] == "complete"
    assert status["publishing_phase"]["status"] == "not_started"  # only this shows finish never ran
    call("POST", f"{V}/{user['page_id']}/videos", user["page_access_token"],
         data={"upload_phase": "finish", "upload_session_id": start["upload_session_id"]})
    status = call("GET", f"{V}/{start['video_id']}", user["page_access_token"],
                  params={"fields": "status"}).json()["status"]
    assert status["video_status"] == "upload_complete" and status["publishing_phase"]["status"] == "in_progress"


def test_the_resync_error_is_flagged_transient_as_facebook_does(call, fake, user):
    start = _start(call, user, 4096)
    resync = err(_transfer(call, user, start["upload_session_id"], 1000, os.urandom(100)))
    assert resync["error_subcode"] == 1363037 and resync["is_transient"] is True


def test_login_dialog_refuses_permissions_that_do_not_exist(server, fake):
    params = {"client_id": fake.client_id, "redirect_uri": "https://app.example/cb", "response_type": "code",
              "state": "s"}
    bad = requests.get(server.url + f"{V}/dialog/oauth", timeout=10,
                       params={**params, "scope": "pages_show_list,pages_read_user_engagement"})
    assert bad.status_code == 400 and "Invalid Scopes: pages_read_user_engagement" in bad.text
    good = requests.get(server.url + f"{V}/dialog/oauth", timeout=10,
                        params={**params, "scope": "pages_show_list,pages_manage_posts,pages_read_engagement,"
                                                   "pages_read_user_content"})
    assert good.status_code == 200
