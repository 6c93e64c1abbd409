"""Facebook endpoints (docs/contract.md §2 rows 1-9) through the real gateway, workers and the strict fake."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib

import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.origin import make_video

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


def png(size: int = 3000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 4, 3, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    head = b"\x89PNG\r\n\x1a\n" + chunk
    return head + os.urandom(size - len(head))


@pytest.fixture()
def fb(fakes):
    return fakes["facebook"].state


@pytest.fixture()
def fb_user(make_identity):
    return make_identity("facebook", location="Paris")


def push(client, identity: str, path: str, node: str, body: dict):
    return client.post(f"/push/identities/{identity}/facebook/{path}.json", {"request": {"push": {node: body}}})


def data_of(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return resp.json()["response"]["result"]["data"]


def callback_for(receiver, site, token) -> dict:
    def mine(got):
        return [c for c in got if token.encode() in c["body"] and c["status"] == 204]

    callback = mine(receiver.wait_for(lambda got: bool(mine(got))))[-1]
    return Webhook(site["signing_secret"]).verify(callback["body"], callback["headers"])["response"]


def test_page_post_and_pictures_answer_with_facebook_ids(client, fb_user, fb, origin):
    page, identity = fb_user["page_id"], fb_user["identity"]
    before = fb.creations()
    data = data_of(push(client, identity, "page/post", "page", {"id": page, "message": "Hello Page",
                                                                  "link": "https://example.com/x"}))
    assert data["provider"] == "facebook" and data["object"] == "post" and data["request_token"]
    assert fb.posts[data["post_id"]]["message"] == "Hello Page" and data["url"].startswith("https://www.facebook.com/")

    picture = png()
    url = origin.add(f"fb-{page}.png", picture)
    photo = data_of(push(client, identity, "page/picture", "page", {"id": page, "url": url, "description": "sun"}))
    assert photo["object"] == "picture" and photo["post_id"]
    assert fb.photos[photo["picture_id"]]["sha256"] == hashlib.sha256(picture).hexdigest()

    hidden = data_of(push(client, identity, "page/picture", "page", {"id": page, "url": url, "create_post": False}))
    with_media = data_of(push(client, identity, "page/post", "page",
                              {"id": page, "message": "album", "attachments": [hidden["picture_id"]]}))
    assert fb.posts[with_media["post_id"]]["attached_media"] == [hidden["picture_id"]]
    after = fb.creations()
    # 2 feed posts + 1 photo story; 2 photos; no video.
    assert (after["posts"] - before["posts"], after["photos"] - before["photos"]) == (3, 2)


def test_page_video_reaches_facebook_and_the_signed_callback_arrives(client, site, fb_user, fb, origin, receiver):
    page, video = fb_user["page_id"], make_video(4 * MB + 99, seed=41)
    url = origin.add(f"fb-{page}.mp4", video)
    accepted = data_of(push(client, fb_user["identity"], "page/video", "page",
                            {"id": page, "video_url": url, "title": "Party", "callback_url": receiver.url}))
    token = accepted["request_token"]
    assert accepted["result"] == "The video has been added to the queue and will be uploaded soon."
    final = client.wait_final(token)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    record = fb.videos[final["provider_ids"]["video_id"]]
    assert record["sha256"] == hashlib.sha256(video).hexdigest() and record.title == "Party"
    response = callback_for(receiver, site, token)
    data = response["result"]["data"]
    assert data == {**data, "provider": "facebook", "object": "video", "video_id": record.id, "request_token": token,
                    "url": f"https://www.facebook.com/{page}/videos/{record.id}/"}
    assert response["request"]["resource"] == f"push/identities/{fb_user['identity']}/facebook/page/video.json"


@pytest.mark.parametrize("path,node,reason", [
    ("post", "post", "facebook_profile_publishing_retired"),
    ("picture", "picture", "facebook_profile_publishing_retired"),
    ("group/post", "group", "facebook_groups_retired"),
    ("group/picture", "group", "facebook_groups_retired"),
])
def test_retired_targets_answer_403_with_the_reason(path, node, reason, client, fb_user, fb, origin):
    body = {"message": "hi"} if path.endswith("post") else {"url": origin.add("fb-retired.png", png())}
    if node == "group":
        body["id"] = fb.add_group(members=[fb_user["user_id"]])
    before = fb.creations()
    resp = push(client, fb_user["identity"], path, node, body)
    assert resp.status_code == 403, resp.text
    status = resp.json()["response"]["request"]["status"]
    assert status["flag"] == "error" and status["reason"] == reason and "no longer lets apps" in status["info"]
    assert fb.creations() == before


@pytest.mark.parametrize("path,node,reason", [
    ("video", "video", "facebook_profile_publishing_retired"),
    ("group/video", "group", "facebook_groups_retired"),
])
def test_retired_video_targets_fail_in_status_and_callback(path, node, reason, client, site, fb_user, fb, origin,
                                                           receiver):
    body = {"video_url": origin.add("fb-retired.mp4", make_video(200_000, seed=42)), "callback_url": receiver.url}
    if node == "group":
        body["id"] = fb.add_group(members=[fb_user["user_id"]])
    token = data_of(push(client, fb_user["identity"], path, node, body))["request_token"]
    final = client.wait_final(token)
    assert final["state"] == "failed" and final["error"]["reason"] == reason, json.dumps(final, indent=1)
    status = callback_for(receiver, site, token)["request"]["status"]
    assert status["flag"] == "error" and status["code"] == 403 and status["reason"] == reason


def test_resets_and_transient_upload_errors_mid_upload_are_survived(client, fb_user, fb, origin):
    page, video = fb_user["page_id"], make_video(3 * MB + 5, seed=43)
    fb.faults.add("video_transfer", "reset_after_commit")
    fb.faults.add("video_transfer", "1363030")
    token = data_of(push(client, fb_user["identity"], "page/video", "page",
                         {"id": page, "video_url": origin.add(f"fb-retry-{page}.mp4", video)}))["request_token"]
    final = client.wait_final(token)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    record = fb.videos[final["provider_ids"]["video_id"]]
    assert record["sha256"] == hashlib.sha256(video).hexdigest()
    starts = [start for start, _, _ in record.ranges]
    assert starts == sorted(set(starts)), "each window accepted once"
    reasons = {a["error_reason"] for a in final["audit"]["stages"] if a["outcome"] == "retrying"}
    assert {"provider_unreachable", "provider_unavailable"} <= reasons


def test_a_video_that_fails_processing_shows_the_reason_and_what_to_do(client, fb_user, fb, origin):
    """Intermediate statuses (upload_complete, processing) are waited out; only a real
    error fails the push, and the status shows Facebook's words and what to do."""
    fb.fail_next_video("The video's audio track could not be read")
    token = data_of(push(client, fb_user["identity"], "page/video", "page",
                         {"id": fb_user["page_id"], "video_url": origin.add("fb-bad.mp4", make_video(200_000, seed=44))}
                         ))["request_token"]
    final = client.wait_final(token)
    assert final["state"] == "failed", json.dumps(final, indent=1)
    assert final["error"]["reason"] == "video_processing_failed"
    assert "audio track could not be read" in final["error"]["info"] and "push it again" in final["error"]["info"]
