"""Synchronize reads the profile through the identity's TokenHolder: a token the
provider refuses (expired or revoked early, though our row says it is fresh) is
refreshed and the profile read sent again, against the strict X fake."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Identity
from tests.gateway.test_identities import data, imported


def _expire_at_fake(fake_x, access_token: str) -> None:
    state = fake_x.state
    with state.lock:
        state.access_tokens[access_token].expires_at = state.now() - 1


def _point_at(app, fake_x) -> None:
    settings = app.extensions["pushwire"].settings
    settings.twitter_api_url = fake_x.url
    settings.twitter_client_id, settings.twitter_client_secret = "sandbox-client", "sandbox-secret"


def test_synchronize_refreshes_a_refused_token_and_reads_the_profile(api, app, fake_x):
    """Before: the profile read's 401 became 400 ``profile_refused`` and nothing was refreshed."""
    _point_at(app, fake_x)
    user = fake_x.state.add_user("7001", "refused_user")
    token = data(imported(api, access_token=user["access_token"], refresh_token=user["refresh_token"],
                          provider_user_id="7001", expires_in=7200))["identity"]["identity_token"]
    _expire_at_fake(fake_x, user["access_token"])  # the provider refuses it; our row thinks it has 2 h
    resp = api.put(f"/identities/{token}/synchronize.json", {"request": {"synchronize": {}}})
    assert resp.status_code == 200, resp.json
    assert data(resp)["identity"]["profile"]["username"] == "refused_user"
    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        row = session.scalar(select(Identity).where(Identity.token == token))
        assert rt.cipher.decrypt(row.access_token_enc) != user["access_token"]


def test_synchronize_with_a_refused_token_and_a_dead_refresh_token_says_reconnect(api, app, fake_x):
    _point_at(app, fake_x)
    user = fake_x.state.add_user("7002", "dead_user")
    token = data(imported(api, access_token=user["access_token"], refresh_token="not-a-live-refresh-token",
                          provider_user_id="7002", expires_in=7200))["identity"]["identity_token"]
    _expire_at_fake(fake_x, user["access_token"])
    resp = api.put(f"/identities/{token}/synchronize.json", {"request": {"synchronize": {}}})
    assert resp.status_code == 403, resp.json
    assert resp.json["response"]["request"]["status"]["reason"] == "reconnect_required"
