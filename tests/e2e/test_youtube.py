"""The four YouTube endpoints end to end: real gateway, workers, PostgreSQL, Redis, S3;
only YouTube is replaced, by the strict fake in ``sandbox.youtube``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import struct
import zlib

import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.origin import make_video

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


def png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 8, 6, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * 500


@pytest.fixture(scope="module")
def fake(fakes):
    return fakes["youtube"].state


def push(client, user, path: str, node: str, body: dict):
    return client.post(f"/push/identities/{user['identity']}/youtube/{path}.json",
                       {"request": {"push": {node: body}}})


def callback_for(receiver, token):
    got = receiver.wait_for(lambda all_: any(token.encode() in c["body"] and c["status"] == 204 for c in all_))
    return [c for c in got if token.encode() in c["body"] and c["status"] == 204][-1]


def test_video_is_uploaded_processed_thumbnailed_and_called_back(client, make_identity, fake, origin, receiver, site):
    user = make_identity("youtube")
    video = make_video(3 * MB + 1234, seed=21)
    body = {"video_url": origin.add("yt-trip.mp4", video), "title": "Our trip", "description": "Sea and sun",
            "tags": ["trip"], "privacy_status": "unlisted", "thumbnail_url": origin.add("yt-thumb.png", png()),
            "callback_url": receiver.url}
    resp = push(client, user, "video", "video", body)
    assert resp.status_code == 200, resp.text
    token = resp.json()["response"]["result"]["data"]["request_token"]

    final = client.wait_final(token)
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    video_id = final["provider_ids"]["video_id"]
    stored = fake.videos[video_id]
    assert stored.sha256 == hashlib.sha256(video).hexdigest() and stored.status["privacyStatus"] == "unlisted"
    assert stored.thumbnail == {"format": "png", "size": len(png())}
    assert fake.session_for_video(video_id).ranges == [(0, len(video) - 1, len(video))]

    payload = Webhook(site["signing_secret"]).verify(*_body_headers(callback_for(receiver, token)))
    data = payload["response"]["result"]["data"]
    assert data == {**data, "provider": "youtube", "object": "video", "video_id": video_id, "request_token": token,
                    "url": f"https://www.youtube.com/watch?v={video_id}"}
    assert data["date_creation"] and data["thumbnail_url"]
    assert payload["response"]["request"]["resource"] == f"push/identities/{user['identity']}/youtube/video.json"


def _body_headers(callback):
    return callback["body"], callback["headers"]


def test_playlist_item_playlist_and_section_answer_with_the_providers_ids(client, make_identity, fake):
    user = make_identity("youtube")
    before = dict(fake.created)

    playlist = client.settled(push(client, user, "playlist", "playlist",
                                    {"title": "Best of", "privacy_status": "public", "default_language": "en"}))
    assert playlist["object"] == "playlist" and playlist["provider"] == "youtube"
    assert fake.playlists[playlist["playlist_id"]]["snippet"]["title"] == "Best of"

    video_id = fake.add_video(user["channel_id"])
    item = client.settled(push(client, user, f"playlist/{playlist['playlist_id']}/video", "video",
                                {"video_id": video_id, "position": 0}))
    assert item["playlist_item_id"] in fake.playlist_items and item["video_id"] == video_id
    assert fake.playlists[playlist["playlist_id"]]["items"] == [item["playlist_item_id"]]

    section = client.settled(push(client, user, "channel/section", "section",
                                   {"type": "multiplePlaylists", "title": "Picks",
                                    "playlists": [playlist["playlist_id"], user["playlist_id"]]}))
    assert section["object"] == "section" and section["section_id"] in fake.sections
    created = {k: fake.created[k] - before.get(k, 0) for k in ("playlists", "playlistItems", "channelSections")}
    assert created == {"playlists": 1, "playlistItems": 1, "channelSections": 1}


def test_reset_mid_upload_is_resumed_from_the_acknowledged_offset(client, make_identity, fake, origin):
    user = make_identity("youtube")
    video = make_video(2 * MB + 77, seed=22)
    fake.faults.add("chunk", "reset_mid_chunk", fraction=0.5)  # 1 MiB committed, the answer lost
    resp = push(client, user, "video", "video", {"video_url": origin.add("yt-reset.mp4", video), "title": "Reset"})
    final = client.wait_final(resp.json()["response"]["result"]["data"]["request_token"])
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    session = fake.session_for_video(final["provider_ids"]["video_id"])
    assert session.ranges == [(0, len(video) - 1, MB), (MB, len(video) - 1, len(video))]
    assert session.sha256 == hashlib.sha256(video).hexdigest()


def test_permanent_error_surfaces_its_reason(client, make_identity, fake):
    user = make_identity("youtube")
    unsorted = fake.add_playlist(user["channel_id"], manual_sort=False)
    video_id = fake.add_video(user["channel_id"])
    resp = push(client, user, f"playlist/{unsorted}/video", "video", {"video_id": video_id, "position": 2})
    if resp.status_code == 202:
        final = client.wait_final(resp.json()["response"]["result"]["data"]["request_token"])
        assert final["error"]["reason"] == "manual_sort_required"
        return
    assert resp.status_code == 400, resp.text
    status = resp.json()["response"]["request"]["status"]
    assert status["flag"] == "error" and status["reason"] == "manual_sort_required" and "manually" in status["info"]


def test_rejected_access_token_is_refreshed_once_and_the_push_goes_through(client, make_identity, fake):
    user = make_identity("youtube")
    fake.expire_token(user["access_token"])  # YouTube answers 401 authError; the worker refreshes at /token
    playlist = client.settled(push(client, user, "playlist", "playlist", {"title": "After refresh"}))
    assert playlist["playlist_id"] in fake.playlists
    assert fake.calls.count(endpoint="token", status=200) >= 1


def test_an_upload_and_its_processing_wait_outlive_several_tokens(client, make_identity, fake, origin):
    """Each access token dies after one call here (standing for Google's hour): the
    worker refreshes at every 401, during the chunk and the polls, not once per task."""
    user = make_identity("youtube")
    video = make_video(MB + 99, seed=23)
    refreshed = fake.calls.count(endpoint="token", status=200)
    fake.token_call_limit = 1
    try:
        resp = push(client, user, "video", "video", {"video_url": origin.add("yt-tokens.mp4", video), "title": "Long"})
        final = client.wait_final(resp.json()["response"]["result"]["data"]["request_token"])
    finally:
        fake.token_call_limit = 30
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    assert fake.videos[final["provider_ids"]["video_id"]].sha256 == hashlib.sha256(video).hexdigest()
    assert fake.calls.count(endpoint="token", status=200) - refreshed >= 2


def test_the_daily_upload_limit_waits_24_hours_with_a_reason_a_person_can_act_on(client, make_identity, fake, origin):
    user = make_identity("youtube")
    fake.faults.add("insert", "uploadLimitExceeded")
    resp = push(client, user, "video", "video", {"video_url": origin.add("yt-limit.mp4", make_video(300_000, seed=24)),
                                                 "title": "Tomorrow"})
    token = resp.json()["response"]["result"]["data"]["request_token"]
    deadline = time.time() + 60
    while time.time() < deadline:
        status = client.status(token)
        waiting = [s for s in status["audit"]["stages"] if s["error_reason"] == "upload_limit_exceeded"]
        if waiting:
            break
        time.sleep(0.3)
    assert waiting, json.dumps(status, indent=1)
    assert status["state"] not in ("failed", "succeeded") and waiting[0]["outcome"] == "retrying"
    assert "daily upload limit" in waiting[0]["error_info"] and "24 hours" in waiting[0]["error_info"]
    retry_at = dt.datetime.fromisoformat(waiting[0]["retry_at"].replace("Z", "+00:00"))
    assert retry_at - dt.datetime.now(dt.timezone.utc) > dt.timedelta(hours=23)
    client.http.delete(client.base_url + f"/push/requests/{token}.json", timeout=30)  # cancel the wait


def test_a_section_of_upcoming_events_with_a_style_is_created_without_it(client, make_identity, fake):
    user = make_identity("youtube")
    section = client.settled(push(client, user, "channel/section", "section",
                                  {"type": "upcomingEvents", "style": "verticalList"}))
    stored = fake.sections[section["section_id"]]["snippet"]
    assert stored["type"] == "upcomingEvents" and "style" not in stored


def test_a_token_refused_even_fresh_fails_with_a_reconnect_hint(client, make_identity, fake):
    user = make_identity("youtube")
    fake.token_call_limit = 0  # every access token is refused, refreshed or not
    try:
        resp = push(client, user, "playlist", "playlist", {"title": "Refused"})
        assert resp.status_code in (202, 401, 502), resp.text
        if resp.status_code == 202:
            final = client.wait_final(resp.json()["response"]["result"]["data"]["request_token"])
            error = final["error"]
        else:
            error = resp.json()["response"]["request"]["status"]
    finally:
        fake.token_call_limit = 30
    assert error["reason"] == "token_expired", json.dumps(error, indent=1)
    assert "reconnect the account" in error["info"]
