"""What the connect flow refuses: denial, forged or replayed redirects, unregistered
callback URLs, reused connection tokens; and what a reconnect keeps."""

from __future__ import annotations

import requests

from tests.connect.browser import Browser
from tests.connect.test_connect_flow import read_connection


def identity_count(client) -> int:
    data = client.get("/identities.json?per_page=1").json()["response"]["result"]["data"]
    return data["identities"]["pagination"]["total_entries"]


def provider_redirect(result) -> str:
    return next(u for u in result.trail if "/connect/" in u and "/callback?" in u)


def assert_page(resp, status: int, reason: str) -> None:
    assert resp is not None and resp.status_code == status, resp.text if resp is not None else None
    assert resp.headers["Content-Type"].startswith("text/html")
    assert f"<code id=\"reason\">{reason}</code>" in resp.text, resp.text
    assert "Location" not in resp.headers


def test_denial_returns_to_the_site_with_access_denied_and_creates_nothing(browser, connect_site, client):
    before = identity_count(client)
    result = browser.connect("pinterest", connect_site["public_key"], decision="deny")
    assert result.params["error"] == "access_denied" and result.params["state"] == "site-state"
    assert "connection_token" not in result.params
    assert identity_count(client) == before


def test_unregistered_callback_or_unknown_site_is_refused_without_redirect(browser, connect_site, fakes):
    calls_before = len(fakes["twitter"].state.calls.calls())
    resp = requests.get(browser.start_url("twitter", connect_site["public_key"], callback="https://evil.example/cb"),
                        allow_redirects=False, timeout=30)
    assert_page(resp, 400, "callback_uri_not_registered")
    assert "evil.example" not in resp.text
    resp = requests.get(browser.start_url("twitter", "no-such-site"), allow_redirects=False, timeout=30)
    assert_page(resp, 400, "unknown_site")
    resp = requests.get(browser.start_url("myspace", connect_site["public_key"]), allow_redirects=False, timeout=30)
    assert_page(resp, 404, "unknown_provider")
    assert len(fakes["twitter"].state.calls.calls()) == calls_before


def test_forged_state_and_another_browser_are_refused_then_the_real_browser_finishes(browser, connect_site,
                                                                                     client, fakes):
    fakes["twitter"].state.consent.auto_decision = None
    before = identity_count(client)
    # Walk to the provider and approve, but stop before Pushwire's callback.
    first = browser.http.get(browser.start_url("twitter", connect_site["public_key"]), allow_redirects=False)
    authorize = first.headers["Location"]
    approved = requests.get(authorize + "&sandbox_decision=approve&sandbox_login=connect-x-safety",
                            allow_redirects=False, timeout=30)
    redirect = approved.headers["Location"]
    assert "/connect/twitter/callback?" in redirect

    forged = redirect.replace("state=", "state=x")
    assert_page(browser.http.get(forged, allow_redirects=False), 400, "unknown_state")
    missing = redirect.split("&state=")[0]
    assert_page(browser.http.get(missing, allow_redirects=False), 400, "missing_state")
    stranger = Browser(browser.gateway)
    assert_page(stranger.http.get(redirect, allow_redirects=False), 400, "browser_mismatch")
    assert identity_count(client) == before

    done = browser.follow(redirect)
    assert done.final and done.params["connection_token"]
    # The same redirect again (a replayed code) is refused and creates nothing more.
    after = identity_count(client)
    assert_page(browser.http.get(redirect, allow_redirects=False), 400, "state_already_used")
    assert identity_count(client) == after == before + 1


def test_replayed_code_is_refused_by_the_fake(browser, connect_site, fakes):
    """The fakes' codes are single-use (and X's need the PKCE verifier)."""
    fake = fakes["youtube"]
    consent = fake.state.consent
    query = {"response_type": "code", "client_id": "sandbox-client", "redirect_uri": "http://127.0.0.1:9/cb",
             "scope": "https://www.googleapis.com/auth/youtube", "sandbox_decision": "approve"}
    loc = requests.get(fake.url + "/o/oauth2/v2/auth", params=query, allow_redirects=False).headers["Location"]
    code = loc.split("code=")[1].split("&")[0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/cb",
            "client_id": "sandbox-client", "client_secret": "sandbox-secret"}
    assert requests.post(fake.url + "/token", data=form).status_code == 200
    again = requests.post(fake.url + "/token", data=form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert consent.codes[code].used

    x = fakes["twitter"]
    query = {"response_type": "code", "client_id": "sandbox-client", "redirect_uri": "http://127.0.0.1:9/cb",
             "scope": "users.read", "code_challenge": "abc", "code_challenge_method": "plain",
             "sandbox_decision": "approve"}
    loc = requests.get(x.url + "/i/oauth2/authorize", params=query, allow_redirects=False).headers["Location"]
    code = loc.split("code=")[1].split("&")[0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/cb",
            "code_verifier": "wrong"}
    refused = requests.post(x.url + "/2/oauth2/token", data=form, auth=("sandbox-client", "sandbox-secret"))
    assert refused.status_code == 400 and "code_verifier" in refused.json()["error_description"]


def test_connection_token_is_single_use_and_site_scoped(browser, connect_site, client, redis_stack):
    result = browser.connect("twitter", connect_site["public_key"])
    token = result.params["connection_token"]
    other = redis_stack.create_site("connect-other")
    stranger = requests.get(f"{redis_stack.url}/connections/{token}.json",
                            auth=(other["public_key"], other["private_key"]), timeout=30)
    assert stranger.status_code == 404
    assert requests.get(f"{redis_stack.url}/connections/{token}.json", timeout=30).status_code == 401
    read_connection(client, token)
    again = client.get(f"/connections/{token}.json")
    assert again.status_code == 410
    assert again.json()["response"]["request"]["status"]["reason"] == "connection_token_used"
    assert client.get("/connections/nope.json").status_code == 404


def test_reconnect_keeps_identity_token_and_refresh_token(browser, connect_site, client, fakes):
    first = browser.connect("pinterest", connect_site["public_key"], login="connect-pin-again")
    identity = read_connection(client, first.params["connection_token"])["user"]["identity"]
    consent = fakes["pinterest"].state.consent
    consent.withhold_refresh = True  # the provider sends no refresh token this time
    try:
        second = Browser(browser.gateway).connect("pinterest", connect_site["public_key"], login="connect-pin-again")
    finally:
        consent.withhold_refresh = False
    again = read_connection(client, second.params["connection_token"])["user"]["identity"]
    assert again["identity_token"] == identity["identity_token"]
    path = f"/identities/{identity['identity_token']}"
    shown = client.get(path + ".json").json()["response"]["result"]["data"]["identity"]
    assert shown["has_refresh_token"] is True
    # The refresh token kept from the first connection still works at the provider.
    sync = client.http.put(client.base_url + path + "/synchronize.json", timeout=30,
                           json={"request": {"synchronize": {"force_token_update": True}}})
    assert sync.status_code == 200, sync.text
