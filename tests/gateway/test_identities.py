"""Identities API: import, list, read (never secrets), delete with confirmation, synchronize."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.models import Identity
from tests.gateway.conftest import ApiClient, make_site


def imported(api, **overrides):
    node = {"provider": "twitter", "access_token": "at-secret-1", "refresh_token": "rt-secret-1",
            "expires_in": 7200, "provider_user_id": "42", "profile": {"name": "Ada", "num_followers": 3}}
    node.update(overrides)
    return api.post("/identities.json", {"request": {"identity": node}})


def data(resp):
    return resp.json["response"]["result"]["data"]


def test_import_read_list_and_reimport_keep_the_token(api, app):
    first = imported(api)
    assert first.status_code == 201, first.json
    token = data(first)["identity"]["identity_token"]
    again = imported(api, access_token="at-secret-2", profile={"name": "Ada L."})
    assert again.status_code == 200 and data(again)["identity"]["identity_token"] == token

    shown = api.get(f"/identities/{token}.json")
    assert data(shown)["identity"]["profile"] == {"name": "Ada L."}
    listed = api.get("/identities.json?per_page=1")
    assert data(listed)["identities"]["pagination"]["total_entries"] == 1
    for resp in (first, again, shown, listed):
        assert "secret" not in json.dumps(resp.json)

    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        row = session.scalar(select(Identity).where(Identity.token == token))
        assert "at-secret" not in row.access_token_enc and rt.cipher.decrypt(row.access_token_enc) == "at-secret-2"
        assert rt.cipher.decrypt(row.refresh_token_enc) == "rt-secret-1"  # kept when not re-sent


def test_bad_imports_are_400(api):
    assert imported(api, provider="myspace").status_code == 400
    resp = api.post("/identities.json", {"request": {"identity": {"provider": "twitter"}}})
    assert resp.status_code == 400 and "access_token" in resp.json["response"]["request"]["status"]["info"]
    assert api.post("/identities.json", raw="nope").status_code == 400


def test_delete_needs_confirmation_and_is_tenant_scoped(api, app):
    token = data(imported(api))["identity"]["identity_token"]
    other = ApiClient(app.test_client(), make_site(app, "other"))
    assert other.get(f"/identities/{token}.json").status_code == 404
    assert other.delete(f"/identities/{token}.json?confirm_deletion=true").status_code == 404
    resp = api.delete(f"/identities/{token}.json")
    assert resp.status_code == 400 and resp.json["response"]["request"]["status"]["reason"] == "confirmation_required"
    assert api.delete(f"/identities/{token}.json?confirm_deletion=true").status_code == 200
    assert api.get(f"/identities/{token}.json").status_code == 404


def test_synchronize_refreshes_through_the_provider(api, app, fake_x):
    user = fake_x.state.add_user("5150", "sync_user")
    settings = app.extensions["pushwire"].settings
    settings.twitter_api_url = fake_x.url
    settings.twitter_client_id, settings.twitter_client_secret = "sandbox-client", "sandbox-secret"
    token = data(imported(api, access_token=user["access_token"], refresh_token=user["refresh_token"],
                          provider_user_id="5150"))["identity"]["identity_token"]
    resp = api.put(f"/identities/{token}/synchronize.json",
                   {"request": {"synchronize": {"force_token_update": True}}})
    assert resp.status_code == 200, resp.json
    profile = data(resp)["identity"]["profile"]
    assert profile["username"] == "sync_user" and profile["num_followers"] is not None  # read from the provider
    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        row = session.scalar(select(Identity).where(Identity.token == token))
        assert rt.cipher.decrypt(row.access_token_enc) != user["access_token"]
        assert rt.cipher.decrypt(row.refresh_token_enc) != user["refresh_token"]
    # The old refresh token is spent at the provider: a forged re-import of it cannot refresh.
    stale = data(imported(api, access_token="x", refresh_token=user["refresh_token"], provider_user_id="5151"))
    resp = api.put(f"/identities/{stale['identity']['identity_token']}/synchronize.json",
                   {"request": {"synchronize": {"force_token_update": True}}})
    assert resp.status_code == 403
    assert resp.json["response"]["request"]["status"]["reason"] == "reconnect_required"
