"""Per-provider OAuth 2 authorization-code flows: authorization URL, code exchange, profile.

``flow_for(provider, settings)`` returns a ``Flow``; a view calls, in order::

    url = flow.authorize_url(redirect_uri, state, code_verifier)   # send the browser there
    grant = flow.exchange(code, redirect_uri, code_verifier)         # -> Grant (tokens)
    account = flow.account(grant.access_token)                       # -> Account (id, profile)

oauthlib's ``WebApplicationClient`` composes the authorization query (PKCE included)
and the token request bodies, and parses token answers; the HTTP is plain
``requests``. Failures are raised as ``app.providers.errors`` exceptions, so the view
shows one clear page whatever the vendor said. Client ids and secrets come from
settings (``PUSHWIRE_<PROVIDER>_CLIENT_ID/SECRET``), never from the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient

from app.providers.errors import AuthExpired, InvalidInput, TransientError
from app.providers.tokens import classify_refusal

YOUTUBE_SCOPE = "https://www.googleapis.com/auth/"


@dataclass
class Grant:
    access_token: str
    refresh_token: str | None
    expires_in: int | None


@dataclass
class Account:
    provider_user_id: str
    profile: dict


class Flow:
    """One provider's authorization-code flow. Subclasses set the class attributes
    and implement ``exchange`` (when the token call is special) and ``account``."""

    name = ""
    label = ""
    scopes: tuple[str, ...] = ()
    scope_separator = " "
    pkce = False
    extra_params: dict = {}

    def __init__(self, settings):
        self.settings = settings
        self.client_id = getattr(settings, f"{self.name}_client_id")
        self.client_secret = getattr(settings, f"{self.name}_client_secret")
        self.authorize_base = getattr(settings, f"{self.name}_authorize_url")
        self.api = settings.provider_url(self.name)
        self.timeout = (settings.outbound_connect_timeout, settings.outbound_read_timeout)
        self.oauth = WebApplicationClient(self.client_id)

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    # -- authorization URL -----------------------------------------------------
    def authorize_url(self, redirect_uri: str, state: str, code_verifier: str | None = None) -> str:
        """The provider's authorization page for this flow (PKCE when ``self.pkce``)."""
        pkce = {}
        if self.pkce:
            pkce = {"code_challenge": self.oauth.create_code_challenge(code_verifier, "S256"),
                    "code_challenge_method": "S256"}
        # oauthlib refuses to build http:// URLs, which the sandbox fakes use; it composes
        # the query against a placeholder and we graft that onto the configured URL.
        built = self.oauth.prepare_request_uri(
            "https://authorize.invalid/", redirect_uri=redirect_uri, state=state,
            scope=self.scope_separator.join(self.scopes), **pkce, **self.extra_params)
        parts = urlsplit(self.authorize_base)
        query = parse_qsl(parts.query) + parse_qsl(urlsplit(built).query)
        return urlunsplit(parts._replace(query=urlencode(query)))

    # -- code exchange ---------------------------------------------------------
    def exchange(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> Grant:
        """Trade the authorization code for tokens (client credentials in the form)."""
        body = self.oauth.prepare_request_body(code=code, redirect_uri=redirect_uri,
                                               client_secret=self.client_secret, include_client_id=True)
        return self._token_call("POST", self.token_url(), data=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})

    def token_url(self) -> str:
        raise NotImplementedError

    def _token_call(self, method: str, url: str, **kw) -> Grant:
        resp = self._http(method, url, **kw)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientError(f"{self.label} could not issue tokens right now (HTTP {resp.status_code}); "
                                 "try connecting again in a moment.")
        if resp.status_code >= 400:
            raise classify_refusal(resp, display=self.label, provider=self.name, grant="authorization_code")
        try:
            token = self.oauth.parse_request_body_response(resp.text)
        except (OAuth2Error, ValueError):
            raise classify_refusal(resp, display=self.label, provider=self.name, grant="authorization_code") from None
        return Grant(token["access_token"], token.get("refresh_token"),
                     int(token["expires_in"]) if token.get("expires_in") else None)

    # -- profile ---------------------------------------------------------------
    def account(self, access_token: str) -> Account:
        raise NotImplementedError

    def _get_json(self, url: str, access_token: str, **kw) -> dict:
        resp = self._http("GET", url, headers={"Authorization": f"Bearer {access_token}"}, **kw)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientError(f"{self.label} could not return the profile right now; try again in a moment.")
        if resp.status_code == 401 or _graph_token_error(resp):
            raise AuthExpired(f"{self.label} refused the access token (expired or revoked) when reading the "
                              "account's profile.")
        if resp.status_code >= 400:
            raise InvalidInput(f"{self.label} refused to return the account's profile (HTTP {resp.status_code}); "
                               "check that the app has the profile permission.", reason="profile_refused")
        try:
            return resp.json()
        except ValueError:
            raise TransientError(f"{self.label} answered the profile request with something other than JSON.") from None

    def _http(self, method: str, url: str, **kw) -> requests.Response:
        try:
            return requests.request(method, url, timeout=self.timeout, **kw)
        except requests.RequestException as exc:
            raise TransientError(f"{self.label} could not be reached ({type(exc).__name__}); "
                                 "try connecting again in a moment.") from None


def _graph_token_error(resp: requests.Response) -> bool:
    """Graph's refused token (OAuthException code 190), which it may send with a 400."""
    try:
        return resp.status_code == 400 and (resp.json().get("error") or {}).get("code") == 190
    except (ValueError, AttributeError):
        return False


def _clean(profile: dict) -> dict:
    return {k: v for k, v in profile.items() if v not in (None, "", [], {})}


class TwitterFlow(Flow):
    name, label, pkce = "twitter", "X", True
    scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")

    def token_url(self) -> str:
        return self.api + "/2/oauth2/token"

    def exchange(self, code, redirect_uri, code_verifier=None) -> Grant:
        """X: confidential client with HTTP Basic, plus the PKCE ``code_verifier``."""
        body = self.oauth.prepare_request_body(code=code, redirect_uri=redirect_uri,
                                               code_verifier=code_verifier, include_client_id=False)
        return self._token_call("POST", self.token_url(), data=body, auth=(self.client_id, self.client_secret),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})

    def account(self, access_token) -> Account:
        fields = "name,username,location,description,profile_image_url,public_metrics"
        user = self._get_json(self.api + "/2/users/me", access_token, params={"user.fields": fields})["data"]
        return Account(str(user["id"]), _clean({
            "name": user.get("name"), "username": user.get("username"), "location": user.get("location"),
            "description": user.get("description"), "profile_image_url": user.get("profile_image_url"),
            "num_followers": (user.get("public_metrics") or {}).get("followers_count"),
            "profile_url": f"https://x.com/{user['username']}" if user.get("username") else None}))


class FacebookFlow(Flow):
    name, label, scope_separator = "facebook", "Facebook", ","
    # Page videos need no publish_video; user comments need pages_read_user_content.
    scopes = ("pages_show_list", "pages_manage_posts", "pages_read_engagement", "pages_read_user_content")

    def token_url(self) -> str:
        return f"{self.api}/{self.settings.facebook_graph_version}/oauth/access_token"

    def exchange(self, code, redirect_uri, code_verifier=None) -> Grant:
        """Code -> short-lived user token -> ``fb_exchange_token`` -> 60-day user token."""
        common = {"client_id": self.client_id, "client_secret": self.client_secret}
        short = self._token_call("GET", self.token_url(), params={**common, "redirect_uri": redirect_uri,
                                                                  "code": code})
        return self._token_call("GET", self.token_url(), params={
            **common, "grant_type": "fb_exchange_token", "fb_exchange_token": short.access_token})

    def account(self, access_token) -> Account:
        base = f"{self.api}/{self.settings.facebook_graph_version}"
        me = self._get_json(base + "/me", access_token, params={"fields": "id,name,picture.type(large)"})
        pages = self._get_json(base + "/me/accounts", access_token,
                               params={"fields": "id,name,category,tasks", "limit": 100}).get("data", [])
        return Account(str(me["id"]), _clean({
            "name": me.get("name"),
            # the URL Graph hands out (a bare /{id}/picture needs a token to answer)
            "profile_image_url": ((me.get("picture") or {}).get("data") or {}).get("url"),
            "pages": [{"id": p["id"], "name": p.get("name"), "tasks": p.get("tasks", [])} for p in pages]}))


class LinkedInFlow(Flow):
    """Member posting always; organization scopes only with company posting enabled
    (``PUSHWIRE_LINKEDIN_COMPANY_POSTING``): LinkedIn grants them only to apps with the
    Community Management API product and refuses the whole consent otherwise."""

    name, label = "linkedin", "LinkedIn"
    scopes = ("openid", "profile", "w_member_social")
    company_scopes = ("w_organization_social",)

    def __init__(self, settings):
        super().__init__(settings)
        if getattr(settings, "linkedin_company_posting", False):
            self.scopes = self.scopes + self.company_scopes

    def token_url(self) -> str:
        return self.settings.linkedin_oauth_url.rstrip("/") + "/oauth/v2/accessToken"

    def account(self, access_token) -> Account:
        info = self._get_json(self.api + "/v2/userinfo", access_token)
        locale = info.get("locale")
        if isinstance(locale, dict):
            locale = "_".join(v for v in (locale.get("language"), locale.get("country")) if v)
        return Account(str(info["sub"]), _clean({
            "name": info.get("name"), "profile_image_url": info.get("picture"), "locale": locale}))


class PinterestFlow(Flow):
    name, label, scope_separator = "pinterest", "Pinterest", ","
    # user_accounts:read is what GET /v5/user_account (the profile) requires.
    scopes = ("boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read")

    def token_url(self) -> str:
        return self.api + "/v5/oauth/token"

    def exchange(self, code, redirect_uri, code_verifier=None) -> Grant:
        """Pinterest: client credentials only as HTTP Basic."""
        body = self.oauth.prepare_request_body(code=code, redirect_uri=redirect_uri, include_client_id=False,
                                               continuous_refresh="true")
        return self._token_call("POST", self.token_url(), data=body, auth=(self.client_id, self.client_secret),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})

    def account(self, access_token) -> Account:
        user = self._get_json(self.api + "/v5/user_account", access_token)
        return Account(str(user.get("id") or user["username"]), _clean({
            "name": user.get("business_name") or user.get("username"), "username": user.get("username"),
            "description": user.get("about"), "profile_image_url": user.get("profile_image"),
            "num_followers": user.get("follower_count"), "website_url": user.get("website_url"),
            "profile_url": f"https://www.pinterest.com/{user['username']}/" if user.get("username") else None}))


class YouTubeFlow(Flow):
    name, label = "youtube", "Google"
    scopes = tuple(YOUTUBE_SCOPE + s for s in ("youtube.upload", "youtube", "youtube.force-ssl"))
    # A refresh token is issued only on consent: ask for it every time.
    extra_params = {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"}

    def token_url(self) -> str:
        return self.settings.youtube_token_url

    def account(self, access_token) -> Account:
        found = self._get_json(self.api + "/youtube/v3/channels", access_token,
                               params={"mine": "true", "part": "snippet,statistics"}).get("items") or []
        if not found:
            raise InvalidInput("This Google account has no YouTube channel; create one, then connect again.",
                               reason="no_youtube_channel")
        channel = found[0]
        snippet, stats = channel.get("snippet", {}), channel.get("statistics", {})
        thumbs = snippet.get("thumbnails", {})
        image = (thumbs.get("high") or thumbs.get("default") or {}).get("url")
        followers = None if stats.get("hiddenSubscriberCount") else stats.get("subscriberCount")
        return Account(str(channel["id"]), _clean({
            "name": snippet.get("title"), "description": snippet.get("description"),
            "location": snippet.get("country"), "profile_image_url": image,
            "num_followers": int(followers) if followers is not None else None,
            "profile_url": f"https://www.youtube.com/channel/{channel['id']}"}))


FLOWS: dict[str, type[Flow]] = {f.name: f for f in (TwitterFlow, FacebookFlow, LinkedInFlow, PinterestFlow,
                                                     YouTubeFlow)}


def flow_for(provider: str, settings) -> Flow | None:
    """The configured flow for ``provider``, or None for an unknown provider."""
    cls = FLOWS.get(provider)
    return cls(settings) if cls else None
