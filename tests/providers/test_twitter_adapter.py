"""The X adapter against the strict fake served in-process (no mocks of our code)."""

from __future__ import annotations

import os
import struct
import zlib

import pytest

from app.providers.base import PushContext, StagedMedia
from app.providers.errors import (
    Misconfigured, PermissionDenied, ProviderError, RateLimited, ReconnectRequired, TransientError,
)
from app.providers.fake import RecordingHooks
from app.providers.twitter import TwitterAdapter
from app.staging import open_store
from sandbox.samples import padded_video
from sandbox.twitter import create_app
from tests.support.fakes import served

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + os.urandom(200)


@pytest.fixture(scope="module")
def server():
    yield from served(create_app(check_after_secs=0, processing_polls=1))


@pytest.fixture()
def fake(server):
    server.state.reset()
    return server.state


@pytest.fixture()
def adapter(server):
    return TwitterAdapter(server.url, client_id="sandbox-client", client_secret="sandbox-secret", timeout=10,
                          chunk_size=1024 * 1024)


@pytest.fixture()
def user(fake):
    return fake.add_user("1001", "alice")


def ctx_for(user, kind: str, **payload) -> PushContext:
    ctx = PushContext(request_token="t", kind=kind, payload=payload, access_token=user["access_token"],
                      provider_user_id=user["user_id"], profile={}, hooks=RecordingHooks())
    return ctx


def picture_ctx(user, data: bytes, fmt: str, **payload) -> PushContext:
    ctx = ctx_for(user, "picture", url="https://origin.example/p", **payload)
    ctx.hooks.fetch = lambda url, max_bytes: (data, fmt) if len(data) <= max_bytes else pytest.fail(
        f"download refused: {len(data)} bytes over the adapter's {max_bytes}")
    return ctx


def video_ctx(user, tmp_path, data: bytes) -> PushContext:
    store = open_store(f"file://{tmp_path}/staging")
    store.write("v.mp4", [data])
    ctx = ctx_for(user, "video", video_url="https://origin.example/v.mp4")
    ctx.staged = StagedMedia(store, "v.mp4", len(data), "mpeg4", "video/mp4")
    return ctx


# --------------------------------------------------------------------------- tokens (item 11)


def test_refused_client_is_the_operators_problem(server, fake, user):
    bad = TwitterAdapter(server.url, client_id="sandbox-client", client_secret="rotated", timeout=10)
    with pytest.raises(ProviderError) as err:
        bad.refresh(user["refresh_token"])
    assert err.value.reason == "provider_misconfigured" and isinstance(err.value, Misconfigured)
    assert "PUSHWIRE_TWITTER_CLIENT_SECRET" in err.value.info


def test_refused_refresh_token_needs_the_user(adapter, fake, user):
    fake.revoke_refresh(user["refresh_token"])
    with pytest.raises(ReconnectRequired) as err:
        adapter.refresh(user["refresh_token"])
    assert err.value.reason == "reconnect_required" and "reconnect" in err.value.info


# --------------------------------------------------------------------------- item 6


def webp(w: int = 4, h: int = 3) -> bytes:
    vp8 = b"\x9d\x01\x2a" + struct.pack("<HH", w, h) + os.urandom(40)
    body = b"WEBP" + b"VP8 " + struct.pack("<I", len(vp8) + 3) + b"\x00\x00\x00" + vp8
    return b"RIFF" + struct.pack("<I", len(body)) + body


def animated_gif(size: int) -> bytes:
    frame = b"\x21\xf9\x04\x00\x0a\x00\x00\x00" + b"\x2c" + bytes(9) + b"\x02\x02\x44\x01\x00"
    head = b"GIF89a\x04\x00\x03\x00\x00\x00\x00" + frame * 2
    return head + b"\x00" * (size - len(head) - 1) + b"\x3b"


def test_description_becomes_alt_text(adapter, fake, user):
    outcome = adapter.push(picture_ctx(user, png(), "png", description="A red square on white"))
    assert fake.media[outcome.data["picture_id"]]["alt_text"] == "A red square on white"


def test_webp_picture_is_accepted(adapter, fake, user):
    outcome = adapter.push(picture_ctx(user, webp(), "webp"))
    assert fake.media[outcome.data["picture_id"]]["image"]["image_type"] == "image/webp"


@pytest.mark.parametrize("size", [200_000, 6 * 1024 * 1024])
def test_animated_gif_goes_through_the_chunked_tweet_gif_flow(adapter, fake, user, size):
    """Animated GIFs up to 15 MB: initialize with ``tweet_gif``, append, finalize, poll."""
    data = animated_gif(size)
    outcome = adapter.push(picture_ctx(user, data, "gif", description="a loop"))
    media = fake.media[outcome.data["picture_id"]]
    assert media["media_category"] == "tweet_gif" and media["total_bytes"] == size and media["state"] == "succeeded"
    assert media["alt_text"] == "a loop"
    tweet = adapter.push(ctx_for(user, "post", message="gif!", attachments=[outcome.data["picture_id"]]))
    assert fake.tweets[-1]["media_ids"] == [outcome.data["picture_id"]] and tweet.data["post_id"]


@pytest.mark.parametrize("text", ["日本語のテキスト" * 18, "a" * 265 + " example.com", "🙂" * 141])
def test_weighted_length_follows_twitter_text(adapter, fake, user, text):
    """CJK and emoji weigh 2 and a bare domain 23: refused before any call, with the count."""
    assert len(text) <= 280
    with pytest.raises(ProviderError) as err:
        adapter.push(ctx_for(user, "post", message=text))
    assert err.value.reason == "text_too_long" and "280" in err.value.info
    assert not [c for c in fake.calls.calls() if c[1] == "/2/tweets"]


def test_daily_user_limit_waits_for_its_own_reset(adapter, fake, user):
    """A 429 for the 24-hour user limit comes with requests left in the 15-minute
    window: waiting for ``x-rate-limit-reset`` would only fail again."""
    fake.set_daily_limit("tweets", user=1)
    adapter.push(ctx_for(user, "post", message="first of the day"))
    with pytest.raises(RateLimited) as err:
        adapter.push(ctx_for(user, "post", message="second of the day"))
    assert err.value.reason == "daily_limit_reached" and err.value.retry_after > 23 * 3600
    assert "24-hour" in err.value.info


def test_usage_capped_is_a_quota_wait_not_a_15_minute_one(adapter, fake, user):
    fake.faults.add("tweets", "usage_capped")
    with pytest.raises(RateLimited) as err:
        adapter.push(ctx_for(user, "post", message="capped"))
    assert err.value.reason == "usage_capped" and err.value.retry_after >= 3600
    assert "usage cap" in err.value.info


def test_token_without_media_write_must_reconnect(adapter, fake):
    old = fake.add_user("2002", "bob", scope="tweet.read tweet.write users.read offline.access")
    with pytest.raises(ProviderError) as err:
        adapter.push(picture_ctx(old, png(), "png"))
    assert err.value.reason == "reconnect_required" and isinstance(err.value, ReconnectRequired)
    assert "media.write" in err.value.info and "reconnect" in err.value.info


def test_redelivery_after_24_hours_uploads_again(adapter, fake, tmp_path):
    """A media id is good for 24 h after finalize: a redelivery after that (here: the
    status poll failed, the task came back a day later) uploads again."""
    user = fake.add_user("3003", "carol", expires_in=10**7)
    data = padded_video(300_000, seed=3003)  # a real MP4: the fake judges codecs
    ctx = video_ctx(user, tmp_path, data)
    fake.faults.add("status", "503")
    with pytest.raises(TransientError):
        adapter.push(ctx)
    first = ctx.progress["media_id"]
    assert ctx.progress["finalized"] and fake.media[first]["finalized"]
    fake.advance(25 * 3600)
    outcome = adapter.push(ctx)
    assert outcome.data["video_id"] != first and fake.media[outcome.data["video_id"]]["state"] == "succeeded"


def test_video_cap_is_xs_not_512_mb(adapter):
    assert adapter.max_video_bytes >= 8 * 1024**3


def test_video_longer_than_the_account_may_post_is_a_clear_refusal(adapter, fake, user, tmp_path):
    outcome = adapter.push(video_ctx(user, tmp_path, padded_video(100_000, seed=1)))
    fake.set_video_duration(outcome.data["video_id"], 30 * 60)
    with pytest.raises(PermissionDenied) as err:
        adapter.push(ctx_for(user, "post", message="my long video", attachments=[outcome.data["video_id"]]))
    assert err.value.reason == "video_too_long_for_account" and "20 minutes" in err.value.info
    fake.set_subscription(user["user_id"], "Premium")
    assert adapter.push(ctx_for(user, "post", message="my long video", attachments=[outcome.data["video_id"]]))
