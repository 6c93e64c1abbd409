"""LinkedIn pushes through the real gateway and workers; only LinkedIn is a fake.

Covers both endpoints (``linkedin/post.json``, ``linkedin/company/post.json``) with
text, link and picture content, plus faults surviving the stack (a 429 on the
publish step, a reset mid image upload) and a permanent refusal reaching the client.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import time

import pytest

pytestmark = pytest.mark.e2e
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x04\x00\x00\x00\x03\x08\x02\x00\x00\x00"


def _push(client, identity: str, path: str, node: dict):
    return client.post(f"/push/identities/{identity}/linkedin/{path}.json", {"request": {"push": {"post": node}}})


def _check_post_data(data: dict, fake, author: str) -> dict:
    assert data["provider"] == "linkedin" and data["object"] == "post" and data["request_token"]
    assert data["url"] == f"https://www.linkedin.com/feed/update/{data['post_id']}"
    email.utils.parsedate_to_datetime(data["date_creation"])
    post = fake.find_post(data["post_id"])
    assert post is not None and post["author"] == author
    return post


def test_member_text_and_link_post(client, make_identity, fakes):
    fake = fakes["linkedin"].state
    user = make_identity("linkedin")
    before = fake.created("posts")
    resp = _push(client, user["identity"], "post", {"message": "Hello (world) #1", "link": "https://example.com/x",
                                                      "title": "X", "description": "About X"})
    data = client.settled(resp)
    post = _check_post_data(data, fake, f"urn:li:person:{user['user_id']}")
    assert post["text"] == "Hello (world) #1" and not post["truncated"]
    assert post["content"] == {"article": {"source": "https://example.com/x", "title": "X", "description": "About X"}}
    assert fake.created("posts") == before + 1


def test_member_picture_post(client, make_identity, fakes, origin):
    fake = fakes["linkedin"].state
    user = make_identity("linkedin")
    picture = PNG + os.urandom(40_000)
    url = origin.add("li-picture.png", picture)
    data = client.settled(_push(client, user["identity"], "post", {"message": "pic", "picture": url}))
    post = _check_post_data(data, fake, f"urn:li:person:{user['user_id']}")
    image = fake.images[post["content"]["media"]["id"]]
    assert image.sha256 == hashlib.sha256(picture).hexdigest() and len(image.puts) == 1
    assert image.owner == post["author"]


def test_company_post_with_picture(client, make_identity, fakes, origin):
    fake = fakes["linkedin"].state
    user = make_identity("linkedin")
    org = user["organization_id"]
    url = origin.add("li-company.png", PNG + os.urandom(1000))
    data = client.settled(_push(client, user["identity"], "company/post",
                                 {"company": org, "message": "We are hiring", "picture": url}))
    post = _check_post_data(data, fake, f"urn:li:organization:{org}")
    assert fake.images[post["content"]["media"]["id"]].owner == f"urn:li:organization:{org}"


def test_rate_limit_and_upload_reset_are_survived(client, make_identity, fakes, origin):
    fake = fakes["linkedin"].state
    user = make_identity("linkedin")
    fake.faults.add("image_upload", "reset")
    fake.faults.add("posts", "429", retry_after=1)
    url = origin.add("li-retry.png", PNG + os.urandom(2000))
    resp = _push(client, user["identity"], "post", {"message": "eventually", "picture": url})
    token = resp.json()["response"]["result"]["data"]["request_token"]
    final = client.wait_final(token, timeout=60)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    reasons = [a["error_reason"] for a in final["audit"]["stages"] if a["outcome"] == "retrying"]
    assert "provider_unreachable" in reasons and "rate_limited" in reasons  # a throttle, not the daily limit
    post = fake.find_post(final["provider_ids"]["post_urn"])
    assert fake.images[post["content"]["media"]["id"]].puts.__len__() == 1
    assert sum(1 for p in fake.posts if p["by"] == user["user_id"]) == 1


def test_not_an_admin_is_refused_with_a_clear_reason(client, make_identity, fakes):
    fake = fakes["linkedin"].state
    user = make_identity("linkedin")
    other = fake.add_organization("somebody-else")
    resp = _push(client, user["identity"], "company/post", {"company": other, "message": "not mine"})
    body = resp.json()["response"]
    if resp.status_code == 202:
        final = client.wait_final(body["result"]["data"]["request_token"])
        assert final["state"] == "failed" and final["error"]["reason"] == "not_organization_admin"
        return
    assert resp.status_code == 403, resp.text
    status = body["request"]["status"]
    assert status["flag"] == "error" and status["reason"] == "not_organization_admin"
    assert "ADMINISTRATOR" in status["info"]


def test_sunset_version_and_throttling_reach_the_status_with_actionable_info(client, make_identity, fakes):
    fake = fakes["linkedin"].state
    user = make_identity("linkedin")
    fake.set_live_versions("202701", "202712")  # the configured version is no longer served
    try:
        resp = _push(client, user["identity"], "post", {"message": "stale version"})
    finally:
        fake.live_versions = None
    body = resp.json()["response"]
    if resp.status_code == 202:
        error = client.wait_final(body["result"]["data"]["request_token"])["error"]
    else:
        error = body["request"]["status"]
    assert error["reason"] == "linkedin_version_sunset" and "PUSHWIRE_LINKEDIN_VERSION" in error["info"]

    fake.faults.add("posts", "quota")
    resp = _push(client, user["identity"], "post", {"message": "daily limit"})
    token = resp.json()["response"]["result"]["data"]["request_token"]
    deadline, attempts = time.time() + 30, []
    while not attempts and time.time() < deadline:
        attempts = [a for a in client.status(token)["audit"]["stages"] if a["outcome"] == "retrying"]
        time.sleep(0.3)
    assert attempts and attempts[0]["error_reason"] == "daily_limit_reached", attempts
    assert "00:00 UTC" in attempts[0]["error_info"]
    client.http.delete(client.base_url + f"/push/requests/{token}.json", timeout=30)  # cancel the wait
