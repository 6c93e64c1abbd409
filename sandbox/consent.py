"""The authorization page and authorization codes every provider fake shares.

A fake mounts ``Consent.authorize`` on its authorization path (GET shows the page,
POST is the user's click) and calls ``Consent.redeem`` from its token endpoint for
``grant_type=authorization_code``. The fake supplies two functions: ``login(name)``
(find or create the user called ``name``; returns its user id) and the token issuing
it already has.

The page is HTML with a "Sign in as" field and Approve/Deny buttons. Tests and
scripts may skip it: ``?sandbox_decision=approve|deny`` (plus optional
``sandbox_login=<name>``) decides at once, as does ``consent.auto_decision``.

Strict checks: ``response_type=code``, the fake's ``client_id``, an absolute
``redirect_uri``, a scope; PKCE (``S256``/``plain``) when ``pkce_required``; codes are
single-use, expire after ``code_ttl`` seconds, and are bound to the client id,
redirect URI and PKCE challenge they were issued for.

A fake's ``oauth.install(app, fake)`` is usually one call of
``install_consent(app, fake, bp, title=..., **options)``: it keeps a ``Consent`` as
``fake.consent`` whose ``login`` is ``login_by_name(fake)``, and mounts ``bp``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import secrets
import threading
from dataclasses import dataclass
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Response, redirect, request

_logins = itertools.count(1)


class ConsentError(Exception):
    """A refused code redemption: OAuth ``error`` and ``description``."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error, self.description = error, description


@dataclass
class Grant:
    user_id: str
    client_id: str
    redirect_uri: str
    scope: str
    params: dict  # every authorization parameter (access_type, prompt, ...)
    challenge: str | None
    method: str | None
    expires_at: float
    used: bool = False


class Consent:
    """Authorization codes of one fake, and its authorization page."""

    def __init__(self, state, *, title: str, login: Callable[[str], str], code_ttl: float = 600.0,
                 pkce_required: bool = False, scope_separator: str = " "):
        self.state, self.title, self.login = state, title, login
        self.code_ttl, self.pkce_required, self.scope_separator = code_ttl, pkce_required, scope_separator
        #: "approve" or "deny": decide every authorization without the page (tests).
        self.auto_decision: str | None = None
        #: The token endpoint leaves out the refresh token (a provider that sends none on reconnect).
        self.withhold_refresh = False
        self.codes: dict[str, Grant] = {}
        self.decisions: list[dict] = []  # {"decision", "login", "user_id", "client_id"} per click
        self._lock = threading.Lock()

    # -- the page ----------------------------------------------------------------
    def authorize(self) -> Response:
        """GET: validate, then show the page (or decide at once); POST: the user's decision."""
        params = dict(request.values.items())
        problem = self._check(params)
        if problem:
            return _page(self.title, f"<p class='error' id='error'>{html.escape(problem)}</p>", 400)
        decision = params.pop("decision", None) if request.method == "POST" else None
        decision = decision or params.pop("sandbox_decision", None) or self.auto_decision
        login = params.pop("login", None) or params.pop("sandbox_login", None)
        params.pop("sandbox_decision", None)
        params.pop("sandbox_login", None)
        if decision is None:
            return self._form(params)
        return self._decide(decision, login or f"sandbox-user-{next(_logins)}", params)

    def _check(self, params: dict) -> str | None:
        if params.get("response_type") != "code":
            return "response_type must be 'code'."
        if params.get("client_id") != self.state.client_id:
            return "Unknown client_id: this app is not registered here."
        parts = urlsplit(params.get("redirect_uri", ""))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return "redirect_uri must be an absolute http(s) URL."
        if not params.get("scope"):
            return "scope is required."
        if self.pkce_required:
            if not params.get("code_challenge"):
                return "code_challenge is required (PKCE)."
            if params.get("code_challenge_method", "plain") not in ("S256", "plain"):
                return "code_challenge_method must be S256 or plain."
        return None

    def _form(self, params: dict) -> Response:
        hidden = "".join(f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                         for k, v in params.items())
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in params["scope"].split(self.scope_separator))
        body = (f"<p>The app <b>{html.escape(params['client_id'])}</b> asks to:</p><ul id='scopes'>{scopes}</ul>"
                f"<form method='post' action='{html.escape(request.path)}'>{hidden}"
                "<label>Sign in as <input id='login' name='login' value='sandbox-user'></label>"
                "<p><button id='approve' type='submit' name='decision' value='approve'>Approve</button> "
                "<button id='deny' type='submit' name='decision' value='deny'>Deny</button></p></form>")
        return _page(self.title, body, 200)

    def _decide(self, decision: str, login: str, params: dict) -> Response:
        back = {"state": params["state"]} if "state" in params else {}
        user_id = None
        if decision == "approve":
            user_id = self.login(login)
            code = secrets.token_urlsafe(24)
            with self._lock:
                self.codes[code] = Grant(user_id, params["client_id"], params["redirect_uri"], params["scope"],
                                         params, params.get("code_challenge"),
                                         params.get("code_challenge_method", "plain") if params.get(
                                             "code_challenge") else None, self.state.now() + self.code_ttl)
            back = {"code": code, **back}
        else:
            back = {"error": "access_denied", "error_description": "The user denied the request.", **back}
        self.decisions.append({"decision": decision, "login": login, "user_id": user_id,
                               "client_id": params["client_id"]})
        return redirect(_with_query(params["redirect_uri"], back), 302)

    # -- the token endpoint's half -----------------------------------------------
    def redeem(self, code: str | None, *, client_id: str | None, redirect_uri: str | None,
               code_verifier: str | None = None) -> Grant:
        """Spend ``code``; ConsentError("invalid_grant", ...) when it does not fit."""
        with self._lock:
            grant = self.codes.get(code or "")
            if grant is None:
                raise ConsentError("invalid_grant", "The authorization code is unknown.")
            if grant.used:
                raise ConsentError("invalid_grant", "The authorization code was already used.")
            grant.used = True  # even a failed attempt spends it, as real providers do
        if self.state.now() >= grant.expires_at:
            raise ConsentError("invalid_grant", "The authorization code has expired.")
        if client_id != grant.client_id:
            raise ConsentError("invalid_grant", "The authorization code was issued to another client.")
        if redirect_uri != grant.redirect_uri:
            raise ConsentError("invalid_grant", "redirect_uri does not match the authorization request.")
        if grant.challenge is not None and not _pkce_ok(grant, code_verifier):
            raise ConsentError("invalid_grant", "code_verifier does not match the code_challenge.")
        return grant


def login_by_name(fake, name_key: str = "username") -> Callable[[str], str]:
    """A ``login(name)`` for ``Consent``: the id of the first user of ``fake.users`` whose
    ``name_key`` field is ``name``, else of a new ``fake.add_user(None, name)``."""

    def login(name: str) -> str:
        with fake.lock:
            for user_id, user in fake.users.items():
                if user.get(name_key) == name:
                    return user_id
        return fake.add_user(None, name)["user_id"]

    return login


def install_consent(app, fake, bp, *, title: str, name_key: str = "username", **options) -> Consent:
    """Set ``fake.consent = Consent(fake, title=title, login=login_by_name(fake, name_key),
    **options)`` (``code_ttl``, ``pkce_required``, ``scope_separator``), register the
    fake's OAuth blueprint ``bp`` on ``app``, and return the ``Consent``."""
    fake.consent = Consent(fake, title=title, login=login_by_name(fake, name_key), **options)
    app.register_blueprint(bp)
    return fake.consent


def _pkce_ok(grant: Grant, verifier: str | None) -> bool:
    if not verifier:
        return False
    if grant.method == "S256":
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    else:
        computed = verifier
    return secrets.compare_digest(computed, grant.challenge)


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page(title: str, body: str, status: int) -> Response:
    text = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)} (sandbox)</h1>{body}</body></html>")
    return Response(text, status=status, mimetype="text/html")
