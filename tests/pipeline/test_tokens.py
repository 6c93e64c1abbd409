"""Tokens during one upload task: refreshed each time one expires, not once per task.

``FakeAdapter`` steps read ``ctx.access_token`` before each (pretend) call, as the
adapters do, and raise AuthExpired where the network would answer 401; the identity's
refresh goes through the real store (``app.identities.tokens``) and ``FakeAdapter.refresh``.
"""

from __future__ import annotations

from app.models import Identity, PushRequest
from app.pipeline.upload import run_upload
from app.providers.errors import AuthExpired
from tests.pipeline.conftest import request


def _give_refresh_token(rt, identity: int) -> None:
    with rt.db.session() as session:
        session.get(Identity, identity).refresh_token_enc = rt.cipher.encrypt("refresh-1")


def _one_call_then_expired(seen: list):
    """A step that makes one call with the token, then gets a 401 on the next."""

    def step(ctx):
        seen.append(ctx.access_token)
        ctx.access_token  # the next call's token: refused
        raise AuthExpired("the network refused the access token (expired)")

    return step


def test_a_task_outliving_three_tokens_refreshes_three_times_and_publishes(rt, fake, identity, make_push):
    _give_refresh_token(rt, identity)
    seen: list[str] = []
    fake.script = [_one_call_then_expired(seen) for _ in range(3)]
    request_id = make_push({"message": "long"})
    assert run_upload(rt, request_id, "t-upload") == "succeeded"
    assert seen == ["token-1", "fresh-1", "fresh-2"] and fake.calls[-1].access_token == "fresh-3"
    assert fake.refreshed == ["refresh-1"] * 3 and len(fake.published) == 1
    with rt.db.session() as session:
        assert rt.cipher.decrypt(session.get(Identity, identity).access_token_enc) == "fresh-3"


def test_a_fresh_token_refused_at_once_twice_ends_the_push_with_a_reconnect_hint(rt, fake, identity, make_push):
    _give_refresh_token(rt, identity)

    def refused(ctx):
        ctx.access_token
        raise AuthExpired("the network refused the access token (expired or revoked).")

    fake.script = [refused] * 10
    request_id = make_push({"message": "never"})
    assert run_upload(rt, request_id, "t-upload") == "failed"
    push: PushRequest = request(rt, request_id)
    assert push.error_reason == "token_expired" and "reconnect the account" in push.error_info
    assert len(fake.refreshed) == 2 and fake.published == []
