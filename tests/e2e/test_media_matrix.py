"""Any seed format to any network, through the real gateway and workers.

Every seed video format (clips made here by the packaged FFmpeg, a few seconds
at low resolution) is pushed to X, a Facebook Page, YouTube and Pinterest; every
contract picture format to the four picture endpoints. The fakes judge codecs
as the networks do (``sandbox.mediacheck``), so a file Pushwire failed to
prepare fails processing there. All pushes of a matrix go out at once and share
the session's stack.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import signal

import pytest

from tests.support.media import PICTURE_FORMATS, VIDEO_FORMATS, make_clip, make_picture

pytestmark = pytest.mark.e2e

VIDEO_ENDPOINTS = ("twitter/video", "facebook/page/video", "youtube/video", "pinterest/pin")
PICTURE_ENDPOINTS = ("twitter/picture", "facebook/page/picture", "linkedin/post", "pinterest/pin")
_ids = itertools.count(1)


def _identity(client, fakes, provider: str) -> dict:
    n = next(_ids)
    user_id, username = str(70_000 + n), f"media{provider}{n}"
    user = fakes[provider].state.add_user(user_id, username)
    user = {**user, "user_id": user_id, "username": username}
    user["identity"] = client.import_identity(provider, user, {"name": username})
    return user


@pytest.fixture(scope="module")
def users(client, fakes) -> dict:
    return {p: _identity(client, fakes, p) for p in ("twitter", "facebook", "youtube", "pinterest", "linkedin")}


def _video_push(client, users, endpoint: str, url: str):
    u = users[endpoint.split("/")[0]]
    node = {
        "twitter/video": ("video", {"video_url": url}),
        "facebook/page/video": ("page", {"id": u.get("page_id"), "video_url": url, "title": "clip"}),
        "youtube/video": ("video", {"video_url": url, "title": "clip"}),
        "pinterest/pin": ("pin", {"board": u.get("board_id"), "video_url": url, "title": "clip"}),
    }[endpoint]
    return client.post(f"/push/identities/{u['identity']}/{endpoint}.json", {"request": {"push": {node[0]: node[1]}}})


def _picture_push(client, users, endpoint: str, url: str):
    u = users[endpoint.split("/")[0]]
    node = {
        "twitter/picture": ("picture", {"url": url}),
        "facebook/page/picture": ("page", {"id": u.get("page_id"), "url": url}),
        "linkedin/post": ("post", {"message": "a picture", "picture": url}),
        "pinterest/pin": ("pin", {"board": u.get("board_id"), "picture": url, "title": "picture"}),
    }[endpoint]
    return client.post(f"/push/identities/{u['identity']}/{endpoint}.json", {"request": {"push": {node[0]: node[1]}}})


@pytest.fixture(scope="module")
def second_worker(redis_stack):
    """Another worker on the session's stack while this module runs: the 32 pushes spend
    most of their time waiting on the fakes' processing, two at a time with one worker."""
    redis_stack.start_worker("matrix-worker")
    yield
    redis_stack.kill("matrix-worker", signal.SIGTERM)


@pytest.fixture(scope="module")
def video_matrix(client, users, origin, second_worker) -> dict:
    """(endpoint, format) -> the request's final status; all 32 pushed at once."""
    tokens = {}
    for fmt in VIDEO_FORMATS:
        url = origin.add(f"matrix-{fmt}.bin", make_clip(fmt))
        for endpoint in VIDEO_ENDPOINTS:
            resp = _video_push(client, users, endpoint, url)
            assert resp.status_code in (200, 202), resp.text
            tokens[(endpoint, fmt)] = resp.json()["response"]["result"]["data"]["request_token"]
    return {key: client.wait_final(token, timeout=300) for key, token in tokens.items()}


@pytest.mark.parametrize("fmt", VIDEO_FORMATS)
@pytest.mark.parametrize("endpoint", VIDEO_ENDPOINTS)
def test_every_seed_video_format_ends_as_a_post(video_matrix, fakes, endpoint, fmt):
    final = video_matrix[(endpoint, fmt)]
    assert final["state"] == "succeeded", json.dumps(final, indent=1)
    media = final["audit"]["media"]
    assert media["probe"]["format"] == fmt and media["probe"]["video"]["codec"]
    assert media["decision"]["action"] in ("pass", "remux", "transcode")
    if endpoint == "twitter/video":
        item = fakes["twitter"].state.media[final["provider_ids"]["media_id"]]
        assert item.probe["video"]["codec"] == "h264" and item.probe["video"]["pix_fmt"] == "yuv420p"
        assert item.probe["audio"]["codec"] == "aac" and item.probe["audio"]["profile"] == "LC"
    if endpoint == "pinterest/pin":
        media_id = final["provider_ids"]["media_id"]
        item = fakes["pinterest"].state.media[media_id]
        assert item.probe["video"]["codec"] == "h264" and item.probe["audio"]["codec"] == "aac"
    if endpoint in ("facebook/page/video", "youtube/video"):
        # These networks transcode themselves: the file reaches them as it was.
        assert media["decision"]["action"] == "pass"


def test_matrix_tally(video_matrix):
    succeeded = sum(1 for final in video_matrix.values() if final["state"] == "succeeded")
    assert (succeeded, len(video_matrix)) == (32, 32)


@pytest.fixture(scope="module")
def picture_matrix(client, users, origin) -> dict:
    results = {}
    for fmt in PICTURE_FORMATS:
        url = origin.add(f"matrix-picture.{fmt}", make_picture(fmt, animated=False))
        for endpoint in PICTURE_ENDPOINTS:
            resp = _picture_push(client, users, endpoint, url)
            results[(endpoint, fmt)] = resp
    return results


@pytest.mark.parametrize("fmt", PICTURE_FORMATS)
@pytest.mark.parametrize("endpoint", PICTURE_ENDPOINTS)
def test_every_picture_format_is_accepted_by_every_picture_endpoint(client, picture_matrix, endpoint, fmt):
    resp = picture_matrix[(endpoint, fmt)]
    data = client.settled(resp)
    assert data["provider"] == endpoint.split("/")[0]
    final = client.status(data["request_token"])
    pictures = final["audit"]["media"]["pictures"]
    assert pictures[0]["probe"]["format"] == fmt
    converted = pictures[0]["decision"]["action"] == "convert"
    taken = {"twitter": ("jpeg", "png", "gif"), "facebook": ("jpeg", "png"), "linkedin": ("jpeg", "png", "gif"),
             "pinterest": ("jpeg", "png")}[endpoint.split("/")[0]]
    assert converted == (fmt not in taken)


def test_animated_gif_stays_animated_on_x(client, users, origin, fakes):
    gif = make_picture("gif", animated=True)
    resp = _picture_push(client, users, "twitter/picture", origin.add("anim.gif", gif))
    data = client.settled(resp)
    item = fakes["twitter"].state.media[data["picture_id"]]
    assert item["sha256"] == hashlib.sha256(gif).hexdigest()
