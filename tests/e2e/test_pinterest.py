"""Pinterest end to end: gateway -> (stage) -> worker -> the strict fake -> response/callback.

Real gunicorn, Celery, PostgreSQL, Redis and S3 staging; only Pinterest is replaced,
by ``sandbox.pinterest``.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib

import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.origin import make_video

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


def png(seed: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + hashlib.sha256(str(seed).encode()).digest() * 8


def push_pin(client, identity: str, **node):
    return client.post(f"/push/identities/{identity}/pinterest/pin.json", {"request": {"push": {"pin": node}}})


def data_of(resp) -> dict:
    return resp.json()["response"]["result"]["data"]


@pytest.fixture()
def fake(fakes):
    return fakes["pinterest"].state


def test_picture_pin_answers_with_the_pin_id(client, make_identity, origin, fake):
    user = make_identity("pinterest")
    picture = png(1)
    url = origin.add("pin-1.png", picture)
    resp = push_pin(client, user["identity"], board=user["board_id"], picture=url, title="Sunset",
                    description="At the beach", link="https://example.com/sunset")
    assert resp.status_code == 200, resp.text
    data = data_of(resp)
    pin_id = data["pin_id"]
    assert data == {**data, "provider": "pinterest", "object": "pin",
                    "url": f"https://www.pinterest.com/pin/{pin_id}/"}
    assert data["request_token"] and data["date_creation"] and data["thumbnail_url"]
    mine = [p for p in fake.pins.values() if p["owner"] == user["user_id"]]
    assert [p["id"] for p in mine] == [pin_id]
    assert mine[0]["received"]["sha256"] == hashlib.sha256(picture).hexdigest()
    assert (mine[0]["title"], mine[0]["board_id"]) == ("Sunset", user["board_id"])


def test_video_pin_is_queued_and_the_callback_carries_the_pin(client, site, make_identity, origin, receiver,
                                                             fake):
    user = make_identity("pinterest")
    video = make_video(2 * MB + 321, seed=11)
    url = origin.add("pin-video.mp4", video)
    resp = push_pin(client, user["identity"], board=user["board_id"], video_url=url, title="Clip",
                    callback_url=receiver.url)
    assert resp.status_code == 202, resp.text
    token = data_of(resp)["request_token"]
    assert data_of(resp)["object"] == "pin"

    final = client.wait_final(token, timeout=120)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    media_id, pin_id = final["provider_ids"]["media_id"], final["provider_ids"]["pin_id"]
    assert [u["sha256"] for u in fake.uploads(media_id)] == [hashlib.sha256(video).hexdigest()]
    assert fake.pins[pin_id]["received"]["media_id"] == media_id
    assert [p for p in fake.pins.values() if p["owner"] == user["user_id"]] == [fake.pins[pin_id]]

    got = receiver.wait_for(lambda cs: any(token.encode() in c["body"] and c["status"] == 204 for c in cs))
    callback = [c for c in got if token.encode() in c["body"] and c["status"] == 204][-1]
    payload = Webhook(site["signing_secret"]).verify(callback["body"], callback["headers"])
    data = payload["response"]["result"]["data"]
    assert data == {**data, "provider": "pinterest", "object": "pin", "pin_id": pin_id, "request_token": token}
    assert payload["response"]["request"]["status"]["flag"] == "success"


def test_rate_limited_pin_is_retried_until_published(client, make_identity, origin, fake):
    user = make_identity("pinterest")
    fake.faults.add("pins", "429")
    resp = push_pin(client, user["identity"], board=user["board_id"], picture=origin.add("pin-2.png", png(2)))
    assert resp.status_code in (200, 202), resp.text
    final = client.wait_final(data_of(resp)["request_token"], timeout=90)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    reasons = [a["error_reason"] for a in final["audit"]["stages"] if a["outcome"] == "retrying"]
    assert reasons == ["rate_limited"]
    assert len([p for p in fake.pins.values() if p["owner"] == user["user_id"]]) == 1


def test_unknown_board_fails_with_its_reason(client, make_identity, origin, fake):
    user = make_identity("pinterest")
    resp = push_pin(client, user["identity"], board="999", picture=origin.add("pin-3.png", png(3)))
    assert resp.status_code == 404, resp.text
    status = resp.json()["response"]["request"]["status"]
    assert status["flag"] == "error" and status["reason"] == "board_not_found" and "board" in status["info"]
    assert not [p for p in fake.pins.values() if p["owner"] == user["user_id"]]


def test_refused_client_at_refresh_is_reported_as_the_operators_problem(client, make_identity, origin, fake):
    """The token expired and Pinterest refuses Pushwire's client (a rotated secret): the
    push fails with ``provider_misconfigured`` naming the setting, not ``reconnect_required``."""
    user = make_identity("pinterest")
    fake.expire_token(user["access_token"])
    secret, fake.client_secret = fake.client_secret, "rotated-at-pinterest"
    try:
        resp = push_pin(client, user["identity"], board=user["board_id"], picture=origin.add("pin-4.png", png(4)))
        token = data_of(resp)["request_token"] if resp.status_code == 202 else None
        status = (client.wait_final(token)["error"] if token else resp.json()["response"]["request"]["status"])
    finally:
        fake.client_secret = secret
    assert status["reason"] == "provider_misconfigured", status
    assert "PUSHWIRE_PINTEREST_CLIENT_SECRET" in status["info"] and "not need to reconnect" in status["info"]
    assert fake.refresh_tokens[user["refresh_token"]].state == "live"


def test_trial_app_on_production_gets_an_operator_reason(client, make_identity, origin, fake):
    user = make_identity("pinterest")
    fake.set_trial(1000)  # a Trial app, while Pushwire talks to the production host
    try:
        resp = push_pin(client, user["identity"], board=user["board_id"], picture=origin.add("pin-5.png", png(5)))
        token = data_of(resp)["request_token"] if resp.status_code == 202 else None
        status = client.wait_final(token)["error"] if token else resp.json()["response"]["request"]["status"]
    finally:
        fake.set_trial(None)
    assert status["reason"] == "pinterest_trial_access", status
    assert "api-sandbox.pinterest.com" in status["info"] and "Standard access" in status["info"]
