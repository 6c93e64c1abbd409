"""Flow state and connection tokens expire (in-process, on the migrated PostgreSQL)."""

from __future__ import annotations

import pytest

from app.connect import state as flowstate
from app.models import Identity, Site
from app.runtime import Runtime


@pytest.fixture()
def rt(settings):
    runtime = Runtime(settings.model_copy(update={"connect_flow_ttl": 0, "connect_token_ttl": 0}))
    yield runtime
    runtime.db.engine.dispose()


@pytest.fixture()
def site_id(rt):
    with rt.db.session() as session:
        site = Site(name="expiry", private_key_hash="x", stream_key=flowstate.new_nonce(), signing_secret_enc="x")
        session.add(site)
        session.flush()
        return site.id


def test_expired_flow_state_is_refused(rt, site_id):
    nonce = flowstate.new_nonce()
    with rt.db.session() as session:
        state, verifier = flowstate.start_flow(session, rt, site_id=site_id, provider="twitter",
                                               callback_uri="https://a.example/cb", site_state=None,
                                               nonce=nonce, pkce=True)
    assert verifier and len(verifier) == 64
    with rt.db.session() as session, pytest.raises(flowstate.FlowRefused) as refused:
        flowstate.claim_flow(session, state=state, provider="twitter", nonce=nonce)
    assert refused.value.reason == "state_expired"


def test_expired_connection_token_is_410(rt, site_id):
    with rt.db.session() as session:
        identity = Identity(site_id=site_id, provider="twitter", provider_user_id="1", access_token_enc="x",
                            profile={})
        session.add(identity)
        session.flush()
        token = flowstate.issue_connection(session, rt, site_id, identity.id)
    with rt.db.session() as session, pytest.raises(flowstate.FlowRefused) as refused:
        flowstate.redeem_connection(session, site_id, token)
    assert (refused.value.status, refused.value.reason) == (410, "connection_token_expired")


def test_cookie_signature_is_checked(rt):
    signed = flowstate.sign_nonce(rt.settings, "abc")
    assert flowstate.read_nonce(rt.settings.model_copy(update={"connect_flow_ttl": 60}), signed) == "abc"
    assert flowstate.read_nonce(rt.settings, signed[:-2] + "xx") is None
