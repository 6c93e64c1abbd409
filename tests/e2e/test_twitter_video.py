"""The foundation slice end to end: gateway -> stage -> upload -> callback, real processes.

PostgreSQL, Redis (broker), moto's S3 server, gunicorn and Celery run for real;
only X is replaced, by the strict fake in ``sandbox.twitter``.
"""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.media import make_picture
from tests.support.origin import decode, make_video
from tests.support.s3server import TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


def _accepted(resp) -> str:
    assert resp.status_code == 200, resp.text
    data = resp.json()["response"]["result"]["data"]
    assert data["object"] == "video"
    assert data["result"] == "The video has been added to the queue and will be uploaded soon."
    return data["request_token"]


def _callback_for(receiver, token):
    received = receiver.wait_for(lambda got: any(token.encode() in c["body"] and c["status"] == 204 for c in got))
    return [c for c in received if token.encode() in c["body"] and c["status"] == 204][-1]


def test_video_reaches_x_and_signed_callback_arrives(client, site, x_user, origin, receiver, fake_x, s3_endpoint):
    video = make_video(5 * MB + 12345, seed=1)
    url = origin.add("party.mp4", video)
    token = _accepted(client.push_twitter_video(x_user["identity"], url, receiver.url))

    final = client.wait_final(token)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    media_id = final["provider_ids"]["media_id"]
    media = fake_x.state.media[media_id]
    assert media["total_bytes"] == len(video)
    assert media["sha256"] == hashlib.sha256(video).hexdigest()

    callback = _callback_for(receiver, token)
    payload = Webhook(site["signing_secret"]).verify(callback["body"], callback["headers"])
    data = payload["response"]["result"]["data"]
    assert data == {**data, "provider": "twitter", "object": "video", "video_id": media_id, "request_token": token}
    assert payload["response"]["request"]["status"]["flag"] == "success"
    assert payload["response"]["request"]["resource"] == f"push/identities/{x_user['identity']}/twitter/video.json"

    stages = {(a["stage"], a["outcome"]) for a in final["audit"]["stages"]}
    assert ("stage", "succeeded") in stages and ("upload", "succeeded") in stages
    staged = [a for a in final["audit"]["stages"] if a["stage"] == "stage"][-1]
    assert staged["bytes_moved"] == len(video)
    assert [c["outcome"] for c in final["audit"]["callbacks"]] == ["delivered"]
    to_states = [t["to"] for t in final["audit"]["transitions"]]
    assert to_states[0] == "queued" and to_states[-1] == "succeeded" and "processing" in to_states

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=TEST_REGION,
                      aws_access_key_id=TEST_ACCESS_KEY_ID, aws_secret_access_key=TEST_SECRET_ACCESS_KEY)
    listed = s3.list_objects_v2(Bucket="pushwire-redis", Prefix=f"staging/{token}")
    assert listed.get("KeyCount", 0) == 0, "the staged object is deleted when the push ends"


def test_rate_limit_and_reset_mid_upload_are_survived(client, x_user, origin, receiver, fake_x):
    video = make_video(4 * MB + 7, seed=2)
    url = origin.add("ratelimited.mp4", video)
    fake_x.state.faults.add("append", "reset_after_commit", count=1)
    fake_x.state.faults.add("append", "429", count=1, retry_after=1)
    token = _accepted(client.push_twitter_video(x_user["identity"], url, receiver.url))

    final = client.wait_final(token)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    media = fake_x.state.media[final["provider_ids"]["media_id"]]
    assert media["sha256"] == hashlib.sha256(video).hexdigest()
    uploads = [a for a in final["audit"]["stages"] if a["stage"] == "upload"]
    reasons = [a["error_reason"] for a in uploads if a["outcome"] == "retrying"]
    assert "rate_limited" in reasons and "provider_unreachable" in reasons
    # Resumed, not restarted: one media id, 5 segments, at most one re-sent.
    assert fake_x.state.append_calls(final["provider_ids"]["media_id"]) <= 5 + 1 + 1


def test_expired_token_is_refreshed_before_upload(client, x_user, origin, fake_x):
    fake_x.state.expire_token(x_user["access_token"])
    url = origin.add("refresh.mp4", make_video(MB, seed=3))
    token = _accepted(client.push_twitter_video(x_user["identity"], url))
    final = client.wait_final(token)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    identity = client.get(f"/identities/{x_user['identity']}.json").json()
    assert "access_token" not in json.dumps(identity)


@pytest.mark.parametrize("case,reason", [
    ("not_video", "unsupported_video_format"),
    ("too_large", "video_too_large"),
    ("unreachable", "download_failed"),
    ("private", "private_address"),
    ("gone", "source_unavailable"),
    ("processing", "video_processing_failed"),
])
def test_failures_have_clear_reasons_in_status_and_callback(case, reason, client, site, x_user, origin,
                                                            receiver, fake_x):
    if case == "not_video":
        url = origin.add("notes.mp4", b"<html>this is not a video</html>" * 100)
    elif case == "too_large":
        url = origin.add_declared("huge.mp4", 9 * 1024 * MB)  # over X's 8 GB for a default account
    elif case == "unreachable":
        url = "http://127.0.0.1:9/video.mp4"
    elif case == "private":
        url = "http://169.254.169.254/latest/meta-data.mp4"
    elif case == "gone":
        url = origin.add_status("gone.mp4", 404)
    else:
        fake_x.state.fail_next_media("Unsupported codec")
        url = origin.add("codec.mp4", make_video(MB, seed=4))
    token = _accepted(client.push_twitter_video(x_user["identity"], url, receiver.url))
    final = client.wait_final(token, timeout=120)
    assert final["state"] == "failed"
    assert final["error"]["reason"] == reason, json.dumps(final, indent=1)
    assert len(final["error"]["info"]) > 20
    if case == "too_large":  # past 8 GiB X is asked for the account's cap, and the refusal names it
        assert final["error"]["info"] == "X lets this account post videos of at most 8 GB; this one is 9.0 GB."

    payload = Webhook(site["signing_secret"]).verify(_callback_for(receiver, token)["body"],
                                                     _callback_for(receiver, token)["headers"])
    status = payload["response"]["request"]["status"]
    assert status["flag"] == "error" and status["reason"] == reason and status["info"] == final["error"]["info"]


def test_callback_is_retried_with_the_same_webhook_id(client, x_user, origin, receiver):
    receiver.fail_next = 2
    url = origin.add("retry-callback.mp4", make_video(MB, seed=5))
    token = _accepted(client.push_twitter_video(x_user["identity"], url, receiver.url))
    final = client.wait_final(token, timeout=120)
    assert final["state"] == "succeeded"
    mine = [c for c in receiver.received if token.encode() in c["body"]]
    assert [c["status"] for c in mine] == [500, 500, 204]
    assert len({c["headers"]["Webhook-Id"] for c in mine}) == 1
    assert [c["outcome"] for c in final["audit"]["callbacks"]] == ["retrying", "retrying", "delivered"]
    decode(mine[-1])


def _push(client, identity, path, node, body):
    return client.post(f"/push/identities/{identity}/twitter/{path}.json", {"request": {"push": {node: body}}})


def test_tweet_with_an_uploaded_picture(client, x_user, origin, fake_x):
    png = make_picture("png")
    resp = _push(client, x_user["identity"], "picture", "picture", {"url": origin.add("pic.png", png)})
    assert resp.status_code == 200, resp.text
    picture = resp.json()["response"]["result"]["data"]
    assert picture["object"] == "picture" and picture["provider"] == "twitter"
    assert fake_x.state.media[picture["picture_id"]]["sha256"] == hashlib.sha256(png).hexdigest()

    before = len(fake_x.state.tweets)
    resp = _push(client, x_user["identity"], "post", "post",
                 {"message": "Hello from Pushwire", "attachments": [picture["picture_id"]]})
    assert resp.status_code == 200, resp.text
    post = resp.json()["response"]["result"]["data"]
    assert post["object"] == "post" and post["post_id"] and post["url"].endswith(post["post_id"])
    assert len(fake_x.state.tweets) == before + 1
    tweet = fake_x.state.tweets[-1]
    assert tweet["text"] == "Hello from Pushwire" and tweet["media_ids"] == [picture["picture_id"]]


def test_publish_step_5xx_is_unconfirmed_not_retried(client, x_user, fake_x):
    fake_x.state.faults.add("tweets", "503", after_commit=True)
    before = len(fake_x.state.tweets)
    resp = _push(client, x_user["identity"], "post", "post", {"message": "posted exactly once?"})
    assert resp.status_code == 504, resp.text
    status = resp.json()["response"]["request"]["status"]
    assert status["reason"] == "outcome_unknown" and "may or may not" in status["info"]
    assert len(fake_x.state.tweets) == before + 1  # created once by the fake, never re-sent


def test_tweet_too_long_and_bmp_picture_are_refused(client, x_user, origin):
    resp = _push(client, x_user["identity"], "post", "post", {"message": "x" * 281})
    assert resp.status_code == 400
    assert "280" in resp.json()["response"]["request"]["status"]["info"]
    resp = _push(client, x_user["identity"], "post", "post", {"message": "日本語" * 47})  # 141 characters, 282 for X
    assert resp.status_code == 400, resp.text
    assert "282" in resp.json()["response"]["request"]["status"]["info"]
    bmp = b"BM" + (1000).to_bytes(4, "little") + b"\x00\x00\x00\x00" + (54).to_bytes(4, "little") + \
        (40).to_bytes(4, "little") + bytes(200)
    resp = _push(client, x_user["identity"], "picture", "picture", {"url": origin.add("pic.bmp", bmp)})
    assert resp.status_code == 400, resp.text
    assert resp.json()["response"]["request"]["status"]["reason"] == "unsupported_picture_format"


def test_webp_with_alt_text_and_a_token_without_media_write(client, fake_x, origin):
    """Second edition: WEBP pictures, ``description`` as alt text; a connection made
    before media.write was asked for fails with reconnect_required saying why."""
    user = fake_x.state.add_user("77001", "webpuser")
    identity = client.import_identity("twitter", {**user, "user_id": "77001"}, {"name": "W"})
    webp = b"RIFF\x30\x00\x00\x00WEBPVP8 \x24\x00\x00\x00\x00\x00\x00\x9d\x01\x2a\x04\x00\x03\x00" + bytes(32)
    resp = _push(client, identity, "picture", "picture", {"url": origin.add("pic.webp", webp),
                                                          "description": "A tiny WEBP"})
    assert resp.status_code == 200, resp.text
    picture_id = resp.json()["response"]["result"]["data"]["picture_id"]
    assert fake_x.state.media[picture_id]["alt_text"] == "A tiny WEBP"

    old = fake_x.state.add_user("77002", "olduser", scope="tweet.read tweet.write users.read offline.access")
    identity = client.import_identity("twitter", {**old, "user_id": "77002"}, {"name": "O"})
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    resp = _push(client, identity, "picture", "picture", {"url": origin.add("old.png", png)})
    status = resp.json()["response"]["request"]["status"]
    assert status["reason"] == "reconnect_required" and "media.write" in status["info"], resp.text


def test_usage_cap_and_a_too_long_video_show_actionable_reasons(client, x_user, origin, fake_x):
    """A usage-capped 429 is a long quota wait (not the 15-minute window); a video longer
    than the account may post fails at post time with its own reason."""
    import time

    fake_x.state.faults.add("tweets", "usage_capped")
    resp = _push(client, x_user["identity"], "post", "post", {"message": "capped for now"})
    token = resp.json()["response"]["result"]["data"]["request_token"]
    deadline, attempts = time.time() + 30, []
    while not attempts and time.time() < deadline:
        attempts = [a for a in client.status(token)["audit"]["stages"] if a["outcome"] == "retrying"]
        time.sleep(0.3)
    assert attempts and attempts[0]["error_reason"] == "usage_capped", attempts
    assert "usage cap" in attempts[0]["error_info"] and "15-minute" in attempts[0]["error_info"]
    client.http.delete(client.base_url + f"/push/requests/{token}.json", timeout=30)

    video = _accepted(client.push_twitter_video(x_user["identity"], origin.add("long.mp4", make_video(MB, seed=9))))
    media_id = client.wait_final(video)["provider_ids"]["media_id"]
    fake_x.state.set_video_duration(media_id, 25 * 60)
    resp = _push(client, x_user["identity"], "post", "post", {"message": "my long video", "attachments": [media_id]})
    status = resp.json()["response"]["request"]["status"]
    assert status["reason"] == "video_too_long_for_account" and "20 minutes" in status["info"], resp.text
