"""The pieces the five fakes share: ``sandbox.appkit``, ``sandbox.control_common``,
``sandbox.knobs`` and ``sandbox.consent.login_by_name``."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import pytest
import requests

import sandbox.appkit as appkit
from sandbox.common import serve
from sandbox.consent import login_by_name

FAKES = {
    "twitter": ("X API v2", []),
    "facebook": ("Facebook Graph API", ["--legacy-groups", "--processing-polls", "3"]),
    "linkedin": ("LinkedIn API", ["--not-partner"]),
    "pinterest": ("Pinterest API v5", ["--trial"]),
    "youtube": ("YouTube Data API v3", ["--quota-model", "legacy"]),
}


class _StopAtOnce:
    """Stands in for ``threading.Event``: ``wait()`` is a Ctrl-C."""

    def wait(self):
        raise KeyboardInterrupt


@pytest.mark.parametrize("name", sorted(FAKES))
def test_main_serves_creates_users_and_stops(name, monkeypatch, capsys):
    label, extra = FAKES[name]
    started = {}

    def serve_and_probe(app, host, port):
        handle = serve(app, host=host, port=0)
        started["health"] = requests.get(handle.url + "/_sandbox/health", timeout=5).json()
        started["fake"] = app.extensions["fake"]
        return handle

    monkeypatch.setattr(appkit, "serve", serve_and_probe)
    monkeypatch.setattr(appkit, "threading", SimpleNamespace(Event=_StopAtOnce))
    importlib.import_module(f"sandbox.{name}.__main__").main(["--user", "alice", *extra])
    user_line, banner = capsys.readouterr().out.splitlines()
    assert json.loads(user_line)["username"] == "alice"
    assert banner.startswith(f"fake {label} on http://127.0.0.1:")
    assert started["health"]["ok"] is True
    fake = started["fake"]
    if name == "facebook":
        assert (fake.legacy_groups, fake.processing_polls) == (True, 3)
    if name == "linkedin":
        assert fake.partner is False and json.loads(user_line)["refresh_token"] is None
    if name == "pinterest":
        assert fake.trial_daily_limit == 1000
    if name == "youtube":
        assert fake.quota_model == "legacy"


@pytest.mark.parametrize("name, message", [("twitter", "Unsupported video format"),
                                           ("pinterest", "The video could not be processed.")])
def test_media_outcome_knobs(name, message):
    fake = importlib.import_module(f"sandbox.{name}").create_app().extensions["fake"]
    fake.fail_next_media()
    fake.fail_next_media("bad codec")
    fake.stick_next_media()
    assert [fake.take_next_outcome() for _ in range(4)] == [
        ("failed", message), ("failed", "bad codec"), ("stuck", None), ("succeeded", None)]
    with pytest.raises(ValueError):
        fake.set_media_outcome("nope", "exploded")
    with pytest.raises(KeyError):
        fake.set_media_outcome("nope", "failed")


@pytest.mark.parametrize("name", ["twitter", "pinterest", "linkedin"])
def test_token_control_routes(name):
    app = importlib.import_module(f"sandbox.{name}").create_app()
    client = app.test_client()
    user = client.post("/_sandbox/users", json={"username": "bob"}).get_json()
    assert client.post("/_sandbox/tokens/expire", json={"access_token": user["access_token"]}).get_json() == {
        "expired": True}
    assert client.post("/_sandbox/tokens/expire", json={"access_token": "x"}).status_code == 404
    missing = client.post("/_sandbox/tokens/revoke", json={"refresh_token": "x"})
    assert (missing.status_code, missing.get_json()) == (404, {"error": "unknown refresh_token"})


@pytest.mark.parametrize("name", ["twitter", "pinterest", "facebook"])
def test_users_route_checks_expires_in(name):
    client = importlib.import_module(f"sandbox.{name}").create_app().test_client()
    bad = client.post("/_sandbox/users", json={"username": "carol", "expires_in": True})
    assert (bad.status_code, bad.get_json()) == (400, {"error": "expires_in must be a positive integer"})
    good = client.post("/_sandbox/users", json={"username": "carol", "expires_in": 60})
    assert good.status_code == 201 and good.get_json()["expires_in"] == 60


@pytest.mark.parametrize("name", ["twitter", "pinterest"])
def test_processing_route_without_media_id(name):
    app = importlib.import_module(f"sandbox.{name}").create_app()
    client, fake = app.test_client(), app.extensions["fake"]
    assert client.post("/_sandbox/processing", json={"outcome": "stuck"}).status_code == 200
    assert client.post("/_sandbox/processing", json={"outcome": "bogus"}).status_code == 400
    assert client.post("/_sandbox/processing", json={"outcome": "failed", "media_id": "x"}).status_code == 404
    assert client.get("/_sandbox/media/x").get_json() == {"error": "unknown media id"}
    assert fake.take_next_outcome() == ("stuck", None)


def test_login_by_name_finds_or_creates():
    fake = importlib.import_module("sandbox.twitter").create_app().extensions["fake"]
    login = login_by_name(fake)
    user_id = login("dora")
    assert login("dora") == user_id and fake.users[user_id]["username"] == "dora"
    fb = importlib.import_module("sandbox.facebook").create_app().extensions["fake"]
    fb_login = login_by_name(fb, "name")
    assert fb_login("erin") == fb_login("erin")
