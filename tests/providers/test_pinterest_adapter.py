"""The Pinterest adapter against the strict fake served in-process (no mocks of our code)."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

import pytest

from app.providers.base import PushContext, StagedMedia
from app.providers.errors import (
    AuthExpired, InvalidInput, Misconfigured, NotFound, OutcomeUnknown, PermissionDenied, ProcessingFailed,
    ProviderError, RateLimited, ReconnectRequired, TransientError,
)
from app.providers.fake import RecordingHooks
from app.providers.pinterest import PinterestAdapter
from app.staging import open_store
from sandbox.samples import padded_video
from sandbox.pinterest import create_app
from tests.support.fakes import served

MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


def png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + os.urandom(200)


@pytest.fixture(scope="module")
def server():
    yield from served(create_app())


@pytest.fixture()
def fake(server):
    server.state.reset()
    return server.state


@pytest.fixture()
def adapter(server):
    return PinterestAdapter(server.url, client_id="sandbox-client", client_secret="sandbox-secret",
                            poll_interval=0, timeout=10)


@pytest.fixture()
def user(fake):
    return fake.add_user("42", "alice")


def picture_ctx(user, picture=None, **payload) -> PushContext:
    data = picture if picture is not None else png()
    ctx = PushContext(request_token="t", kind="pin", payload={"board": user["board_id"],
                      "picture": "https://origin.example/p.png", **payload},
                      access_token=user["access_token"], provider_user_id=user["user_id"], profile={},
                      hooks=RecordingHooks(fetch=lambda url, max_bytes: (data, "png" if data.startswith(b"\x89PNG")
                                                                         else "gif")))
    return ctx


def video_ctx(user, tmp_path, size=300_000, **payload) -> tuple[PushContext, bytes]:
    data = padded_video(size, seed=size)  # a real MP4 (the fake judges codecs)
    store = open_store(f"file://{tmp_path}/st")
    store.write("k", [data])
    ctx = PushContext(request_token="t", kind="pin",
                      payload={"board": user["board_id"], "video_url": "https://origin.example/v.mp4",
                               "title": "Clip", **payload},
                      access_token=user["access_token"], provider_user_id=user["user_id"], profile={},
                      staged=StagedMedia(store, "k", len(data), "mpeg4", "video/mp4"), hooks=RecordingHooks())
    return ctx, data


def api_calls(fake) -> list[tuple[str, str, int]]:
    return [(m, "/v5/media/{id}" if p.startswith("/v5/media/") else p, s) for m, p, s in fake.calls.calls()]


# --------------------------------------------------------------------------- success


def test_picture_pin_is_sent_inline_as_base64(adapter, fake, user):
    picture = png()
    outcome = adapter.push(picture_ctx(user, picture, title="Hello", description="d", link="https://ex.com/a"))
    assert api_calls(fake) == [("POST", "/v5/pins", 201)]
    pin = fake.pins[outcome.provider_ids["pin_id"]]
    assert pin["source_type"] == "image_base64"
    assert pin["received"]["sha256"] == hashlib.sha256(picture).hexdigest()
    assert (pin["title"], pin["description"], pin["link"]) == ("Hello", "d", "https://ex.com/a")
    data = outcome.data
    assert data["provider"] == "pinterest" and data["object"] == "pin"
    assert data["url"] == f"https://www.pinterest.com/pin/{data['pin_id']}/"
    assert data["thumbnail_url"].startswith("https://i.pinimg.com/") and data["date_creation"]


def test_gif_goes_by_url(adapter, fake, user):
    outcome = adapter.push(picture_ctx(user, b"GIF89a" + os.urandom(50)))
    assert fake.pins[outcome.provider_ids["pin_id"]]["received"] == {"url": "https://origin.example/p.png"}


def test_video_pin_registers_uploads_polls_and_publishes(adapter, fake, user, tmp_path):
    ctx, data = video_ctx(user, tmp_path)
    outcome = adapter.push(ctx)
    media_id = outcome.provider_ids["media_id"]
    assert api_calls(fake) == [("POST", "/v5/media", 201), ("POST", "/", 204),
                               ("GET", "/v5/media/{id}", 200), ("GET", "/v5/media/{id}", 200),
                               ("POST", "/v5/pins", 201)]
    assert fake.uploads(media_id) == [{"media_id": media_id, "size": len(data),
                                       "sha256": hashlib.sha256(data).hexdigest(),
                                       "range": [0, len(data) - 1], "head": data[:16].hex()}]
    pin = fake.pins[outcome.provider_ids["pin_id"]]
    assert pin["received"]["media_id"] == media_id and pin["media"]["media_type"] == "video"
    assert dict(fake.created) == {"media": 1, "uploads": 1, "pins": 1}
    assert ctx.hooks.saved[-1]["pinterest_uploaded"] is True


def test_delete_and_exists(adapter, fake, user):
    ids = adapter.push(picture_ctx(user)).provider_ids
    assert adapter.exists("pin", ids, user["access_token"]) is True
    assert adapter.delete("pin", ids, user["access_token"]) is True
    assert adapter.exists("pin", ids, user["access_token"]) is False
    assert [p["id"] for p in fake.deleted_pins] == [ids["pin_id"]]


# --------------------------------------------------------------------------- faults


def test_rate_limit_maps_to_rate_limited(adapter, fake, user):
    fake.faults.add("pins", "429")
    with pytest.raises(RateLimited) as info:
        adapter.push(picture_ctx(user))
    assert info.value.retry_after is None  # Pinterest sends no Retry-After: exponential backoff
    fake.faults.add("pins", "429", retry_after=7)
    with pytest.raises(RateLimited) as info:
        adapter.push(picture_ctx(user))
    assert info.value.retry_after == 7
    assert fake.pins == {}


def test_trial_daily_quota_is_a_rate_limit(adapter, fake, user):
    fake.set_trial(1, sandbox_host=True)
    adapter.push(picture_ctx(user))
    with pytest.raises(RateLimited):
        adapter.push(picture_ctx(user))


@pytest.mark.parametrize("endpoint", ["media_create", "media_get"])
def test_5xx_before_publish_is_transient(adapter, fake, user, tmp_path, endpoint):
    fake.faults.add(endpoint, "503")
    ctx, _ = video_ctx(user, tmp_path)
    with pytest.raises(TransientError) as info:
        adapter.push(ctx)
    assert not isinstance(info.value, OutcomeUnknown)


@pytest.mark.parametrize("kind", ["502", "reset"])
def test_fault_on_publish_is_outcome_unknown(adapter, fake, user, kind):
    fake.faults.add("pins", kind)
    with pytest.raises(OutcomeUnknown):
        adapter.push(picture_ctx(user))


def test_expired_token_is_auth_expired(adapter, fake, user):
    fake.expire_token(user["access_token"])
    with pytest.raises(AuthExpired):
        adapter.push(picture_ctx(user))


def test_unknown_or_foreign_board_is_board_not_found(adapter, fake, user):
    other = fake.add_user("43", "bob")
    with pytest.raises(NotFound) as info:
        adapter.push(picture_ctx(user, board=other["board_id"]))
    assert info.value.reason == "board_not_found" and "board" in info.value.info


def test_missing_scope_is_permission_denied(adapter, fake):
    user = fake.add_user("44", "carol", scope="boards:read pins:read")
    with pytest.raises(PermissionDenied) as info:
        adapter.push(picture_ctx(user))
    assert "pins:write" in info.value.info


def test_rejected_content_is_invalid_input_with_message(adapter, fake, user):
    with pytest.raises(InvalidInput) as info:
        adapter.push(picture_ctx(user, title="x" * 101))
    assert "title is too long" in info.value.info


# --------------------------------------------------------------------------- retries


def test_interrupted_upload_registers_new_media_and_sends_file_once_more(adapter, fake, user, tmp_path):
    ctx, data = video_ctx(user, tmp_path)
    fake.faults.add("upload", "reset")
    with pytest.raises(TransientError):
        adapter.push(ctx)
    assert fake.uploads() == [] and not ctx.progress.get("pinterest_uploaded")
    outcome = adapter.push(ctx)  # the retried task, same progress
    uploads = fake.uploads()
    assert [u["media_id"] for u in uploads] == [outcome.provider_ids["media_id"]]
    assert uploads[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert fake.created["media"] == 2 and fake.created["pins"] == 1


def test_expired_policy_registers_new_media(adapter, fake, user, tmp_path):
    ctx, data = video_ctx(user, tmp_path)
    fake.faults.add("upload", "expired_policy")
    with pytest.raises(TransientError) as info:
        adapter.push(ctx)
    assert "AccessDenied" in info.value.info
    outcome = adapter.push(ctx)
    assert len(fake.uploads()) == 1 and fake.created["media"] == 2
    assert fake.pins[outcome.provider_ids["pin_id"]]["received"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_acknowledged_upload_is_not_sent_again(adapter, fake, user, tmp_path):
    ctx, data = video_ctx(user, tmp_path)
    fake.faults.add("pins", "429")
    with pytest.raises(RateLimited):
        adapter.push(ctx)
    fake.calls.clear()
    outcome = adapter.push(ctx)
    assert [c for c in api_calls(fake) if c[1] != "/v5/media/{id}"] == [("POST", "/v5/pins", 201)]
    assert len(fake.uploads()) == 1 and fake.created["media"] == 1
    assert outcome.provider_ids["media_id"] == ctx.progress["pinterest_media_id"]


def test_upload_sends_content_length_and_streams(adapter, fake, user, tmp_path):
    ctx, data = video_ctx(user, tmp_path, size=3 * 1024 * 1024 + 5)
    adapter.push(ctx)
    reported = ctx.hooks.reported
    assert reported[-1] == len(data) and len(reported) == 4  # 1 MiB chunks read from staging
    assert fake.uploads()[0]["size"] == len(data)


# --------------------------------------------------------------------------- tokens


def test_refresh_rotates_tokens(adapter, fake, user):
    tokens = adapter.refresh(user["refresh_token"])
    assert tokens.access_token != user["access_token"] and tokens.refresh_token != user["refresh_token"]
    assert tokens.expires_at is not None
    assert fake.refresh_tokens[user["refresh_token"]].state == "spent"
    adapter.push(picture_ctx({**user, "access_token": tokens.access_token}))
    with pytest.raises(ReconnectRequired) as info:  # the spent one is dead
        adapter.refresh(user["refresh_token"])
    assert "reconnect" in info.value.info


def test_revoked_refresh_needs_reconnect(adapter, fake, user):
    fake.revoke_refresh(user["refresh_token"])
    with pytest.raises(ReconnectRequired):
        adapter.refresh(user["refresh_token"])


def test_refresh_with_wrong_client_secret_is_the_operators_problem(server, fake, user):
    """Pinterest answers a refused client with ``{code, message}``, not OAuth's
    ``{error}``: that is Pushwire's app setup, not the user's token."""
    bad = PinterestAdapter(server.url, client_id="sandbox-client", client_secret="nope", timeout=10)
    with pytest.raises(ProviderError) as err:
        bad.refresh(user["refresh_token"])
    assert err.value.reason == "provider_misconfigured" and isinstance(err.value, Misconfigured)
    assert "PUSHWIRE_PINTEREST_CLIENT_SECRET" in err.value.info and "not need to reconnect" in err.value.info
    assert fake.refresh_tokens[user["refresh_token"]].state == "live", "the user's refresh token is untouched"


def test_refresh_rate_limit_is_transient(adapter, fake, user):
    fake.faults.add("token", "429")
    with pytest.raises(RateLimited):
        adapter.refresh(user["refresh_token"])


# --------------------------------------------------------------------------- at most once


def test_interrupted_pin_create_is_not_sent_again(adapter, fake, user):
    """The marker is saved before ``POST /v5/pins``; a redelivery that finds it
    (worker killed before the Pin's id was saved) reports outcome unknown."""
    ctx = picture_ctx(user, description="once")
    first = adapter.push(ctx)
    saved = ctx.hooks.saved
    assert saved[0] == {"pin_publishing": True}
    pins = len(fake.pins)

    crashed = picture_ctx(user, description="once")
    crashed.progress = dict(saved[0])
    crashed.hooks.fetch = lambda url, max_bytes: pytest.fail("no download for a Pin that is not sent again")
    with pytest.raises(OutcomeUnknown):
        adapter.push(crashed)
    assert len(fake.pins) == pins
    assert adapter.push(ctx).provider_ids["pin_id"] == first.provider_ids["pin_id"], "id kept in progress"
    assert len(fake.pins) == pins


# --------------------------------------------------------------------------- second edition (item 9)


def test_trial_app_on_production_is_told_to_use_the_sandbox(adapter, fake, user):
    """Pinterest refuses Pins from Trial apps on its production host (403 code 29):
    the operator's to fix, said so, and not the generic 'check the scopes'."""
    from app.ops.metrics import PROVIDER_CONFIG_ERRORS

    metric = PROVIDER_CONFIG_ERRORS.labels("pinterest", "pinterest_trial_access")
    before = metric._value.get()
    fake.set_trial(1000)
    for _ in range(2):
        with pytest.raises(PermissionDenied) as err:
            adapter.push(picture_ctx(user))
    assert metric._value.get() == before + 1, "reported to operators once, not per push"
    assert err.value.reason == "pinterest_trial_access" and isinstance(err.value, Misconfigured)
    assert "Trial access" in err.value.info and "https://api-sandbox.pinterest.com" in err.value.info
    assert "Standard access" in err.value.info and "scopes" not in err.value.info
    fake.set_trial(1000, sandbox_host=True)
    assert adapter.push(picture_ctx(user)).data["pin_id"]


def test_failed_processing_does_not_invent_a_reason(adapter, fake, user, tmp_path):
    """The media status has no ``failure_reason``: the info says what Pinterest takes."""
    fake.fail_next_media("codec")
    ctx, _ = video_ctx(user, tmp_path)
    with pytest.raises(ProcessingFailed) as err:
        adapter.push(ctx)
    assert err.value.reason == "video_processing_failed"
    assert "H.264" in err.value.info and "AAC" in err.value.info and "no reason given" not in err.value.info
    assert "failure_reason" not in err.value.details
