"""Each provider's connect flow end to end: browser -> Pushwire -> fake's consent page ->
Pushwire -> site callback; then the site reads the connection and pushes with it."""

from __future__ import annotations

import hashlib
import struct
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.connect.browser import CALLBACK

SCOPES = {
    "twitter": ("tweet.read tweet.write users.read media.write offline.access", " "),
    "facebook": ("pages_show_list,pages_manage_posts,pages_read_engagement,pages_read_user_content", ","),
    "pinterest": ("boards:read,boards:write,pins:read,pins:write,user_accounts:read", ","),
    "youtube": ("https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube "
                "https://www.googleapis.com/auth/youtube.force-ssl", " "),
}


def png(seed: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + hashlib.sha256(str(seed).encode()).digest() * 8


def read_connection(client, token: str) -> dict:
    resp = client.get(f"/connections/{token}.json")
    assert resp.status_code == 200, resp.text
    return resp.json()["response"]["result"]["data"]


def authorize_query(result, fakes, provider) -> dict:
    url = next(u for u in result.trail if u.startswith(fakes[provider].url))
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def push(client, identity: str, path: str, node: str, body: dict) -> dict:
    resp = client.post(f"/push/identities/{identity}/{path}.json", {"request": {"push": {node: body}}})
    return client.settled(resp)


def test_x_connect_uses_pkce_sets_a_safe_cookie_and_the_identity_can_post(browser, connect_site, client, fakes):
    result = browser.connect("twitter", connect_site["public_key"], login="connect-x-1")
    assert result.final, result.page.text if result.page is not None else result.trail
    assert result.params["state"] == "site-state" and result.params["connection_token"]
    query = authorize_query(result, fakes, "twitter")
    assert query["scope"] == SCOPES["twitter"][0]
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["client_id"] == "sandbox-client" and "client_secret" not in query
    assert query["redirect_uri"] == f"{browser.gateway}/connect/twitter/callback"
    cookie = next(c for c in browser.http.cookies if c.name == "pushwire_connect")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/connect/"
    assert cookie.get_nonstandard_attr("SameSite") == "Lax"

    data = read_connection(client, result.params["connection_token"])
    assert data["connection"]["connection_token"] == result.params["connection_token"]
    assert data["connection"]["status"] == "succeeded" and data["connection"]["date"]
    identity = data["user"]["identity"]
    user = fakes["twitter"].state.users[identity["provider_user_id"]]
    assert identity["provider"] == "twitter" and user["username"] == "connect-x-1"
    assert identity["profile"]["name"] and identity["profile"]["num_followers"] == 42
    assert identity["profile"]["location"] and identity["profile"]["description"]

    sent = push(client, identity["identity_token"], "twitter/post", "post", {"message": "connected via Pushwire"})
    tweets = [t for t in fakes["twitter"].state.tweets if t.get("text") == "connected via Pushwire"]
    assert tweets and sent["request_token"]


def test_facebook_connect_exchanges_for_a_long_lived_token_and_posts_to_the_page(browser, connect_site, client,
                                                                                fakes):
    result = browser.connect("facebook", connect_site["public_key"])
    assert result.final, result.page.text if result.page is not None else result.trail
    assert authorize_query(result, fakes, "facebook")["scope"] == SCOPES["facebook"][0]
    calls = [path for _, path, _ in fakes["facebook"].state.calls.calls() if path.endswith("/oauth/access_token")]
    assert len(calls) >= 2  # code exchange, then fb_exchange_token
    identity = read_connection(client, result.params["connection_token"])["user"]["identity"]
    pages = identity["profile"]["pages"]
    assert pages and "CREATE_CONTENT" in pages[0]["tasks"]
    # the picture URL Graph hands out, not a bare graph.facebook.com/{id}/picture (needs a token)
    assert identity["profile"]["profile_image_url"].startswith("https://platform-lookaside.fbsbx.com/")
    body = {"id": pages[0]["id"], "message": "Hello from a connected Page"}
    data = push(client, identity["identity_token"], "facebook/page/post", "page", body)
    assert fakes["facebook"].state.posts[data["post_id"]]["message"] == "Hello from a connected Page"


def test_pinterest_connect_then_pin(browser, connect_site, client, fakes, origin):
    result = browser.connect("pinterest", connect_site["public_key"])
    assert result.final, result.page.text if result.page is not None else result.trail
    assert authorize_query(result, fakes, "pinterest")["scope"] == SCOPES["pinterest"][0]
    identity = read_connection(client, result.params["connection_token"])["user"]["identity"]
    assert identity["profile"]["username"] and identity["profile"]["num_followers"] == 12
    fake = fakes["pinterest"].state
    board = next(b["id"] for b in fake.boards.values() if b["owner"] == identity["provider_user_id"])
    data = push(client, identity["identity_token"], "pinterest/pin", "pin",
                {"board": board, "picture": origin.add("connect-pin.png", png(77)), "title": "connected"})
    assert data["request_token"]
    assert any(p.get("board_id") == board for p in fake.pins.values())


def test_youtube_connect_asks_for_offline_access_and_creates_a_playlist(browser, connect_site, client, fakes):
    result = browser.connect("youtube", connect_site["public_key"], state=None)
    assert result.final, result.page.text if result.page is not None else result.trail
    assert "state" not in result.params  # the site sent none
    query = authorize_query(result, fakes, "youtube")
    assert query["scope"] == SCOPES["youtube"][0]
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    identity = read_connection(client, result.params["connection_token"])["user"]["identity"]
    assert identity["provider_user_id"].startswith("UC") and identity["profile"]["num_followers"] == 17
    shown = client.get(f"/identities/{identity['identity_token']}.json").json()["response"]["result"]["data"]
    assert shown["identity"]["has_refresh_token"] is True
    data = push(client, identity["identity_token"], "youtube/playlist", "playlist", {"title": "Connected list"})
    assert data["request_token"]
    titles = [p["snippet"]["title"] for p in fakes["youtube"].state.playlists.values()]
    assert "Connected list" in titles


def test_callback_url_cli_lists_the_registered_url(redis_stack, connect_site):
    out = redis_stack.cli("site", "callback", "list", connect_site["public_key"])
    assert CALLBACK in out


def test_linkedin_connect_with_member_scopes_then_post(browser, connect_site, client, fakes):
    """Organization scopes are not asked for by default: the fake, like LinkedIn, refuses
    the whole consent for an app without the Community Management API product."""
    assert not fakes["linkedin"].state.community_management
    result = browser.connect("linkedin", connect_site["public_key"])
    assert result.final, result.page.text if result.page is not None else result.trail
    assert authorize_query(result, fakes, "linkedin")["scope"] == "openid profile w_member_social"
    identity = read_connection(client, result.params["connection_token"])["user"]["identity"]
    assert identity["provider"] == "linkedin" and identity["profile"]["name"]
    fake = fakes["linkedin"].state
    before = fake.created("posts")
    push(client, identity["identity_token"], "linkedin/post", "post", {"message": "Connected to LinkedIn"})
    assert fake.created("posts") == before + 1


def test_linkedin_organization_scopes_only_with_company_posting():
    from app.config import Settings
    from app.connect.flows import LinkedInFlow

    assert "w_organization_social" not in LinkedInFlow(Settings()).scopes
    assert LinkedInFlow(Settings(linkedin_company_posting=True)).scopes == (
        "openid", "profile", "w_member_social", "w_organization_social")


def test_code_exchange_refused_client_is_misconfigured_not_a_code_problem():
    """Item 11 in the connect flow: Pinterest answers a wrong client secret with
    ``{code, message}`` at 401; a bad code is the user's to retry."""
    from app.config import Settings
    from app.connect.flows import PinterestFlow
    from app.providers.errors import Misconfigured, ReconnectRequired
    from sandbox.pinterest import create_app
    from tests.support.fakes import served

    for handle in served(create_app()):
        settings = Settings(pinterest_api_url=handle.url, pinterest_client_id="sandbox-client",
                            pinterest_client_secret="wrong")
        with pytest.raises(Misconfigured) as err:
            PinterestFlow(settings).exchange("some-code", "https://app.example/cb")
        assert err.value.reason == "provider_misconfigured" and "PUSHWIRE_PINTEREST_CLIENT_SECRET" in err.value.info
        settings = Settings(pinterest_api_url=handle.url, pinterest_client_id="sandbox-client",
                            pinterest_client_secret="sandbox-secret")
        with pytest.raises(ReconnectRequired) as err:
            PinterestFlow(settings).exchange("not-a-code", "https://app.example/cb")
        assert err.value.reason == "authorization_code_refused"
