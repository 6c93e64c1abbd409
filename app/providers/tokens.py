"""Token endpoint answers, classified in one place for every provider.

A token endpoint can refuse two different things, and they have different owners:

* the **client** (Pushwire's app: a wrong or revoked client id/secret, an app that
  may not use this grant): an operator problem, raised as ``Misconfigured``
  (``provider_misconfigured``); reconnecting the user would not help;
* the **grant** (a refresh token that expired, was revoked or already spent; an
  authorization code that expired or was used): only then must the user reconnect
  (``ReconnectRequired``).

Not every network answers in OAuth's ``{"error", "error_description"}`` shape:
Pinterest sends ``{"code", "message"}``, others problem JSON or an HTML page.
``classify_refusal`` reads the OAuth ``error`` when there is one; otherwise a 401 or
403 means the client was refused (token endpoints authenticate the client, a bad
grant is a 400) and a 400 counts as a refused grant only when its message is about
the token or code. Anything else is the operator's to look at.

``refresh_grant`` is the OAuth 2 refresh grant (oauthlib builds the form and parses
the answer) with that classification; adapters call it from ``refresh``.

``report_config_error`` tells operators about a configuration problem once per process
and value (an ERROR log line and ``pushwire_provider_config_errors_total``), not once
per push: a refused client here, a sunset LinkedIn version, a Pinterest Trial app.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading

import requests
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests.auth import HTTPBasicAuth

from app.providers.errors import Misconfigured, ProviderError, ReconnectRequired

log = logging.getLogger(__name__)
_reported: set[str] = set()
_reported_lock = threading.Lock()

CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope"})
GRANT_ERRORS = frozenset({"invalid_grant"})
#: A 400 message about the token or code itself (not the client).
GRANT_WORDS = re.compile(r"refresh[ _-]?token|authori[sz]ation[ _-]?code|\bgrant\b|\btoken\b|\bcode\b", re.I)


def _body(resp: requests.Response) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _detail(resp: requests.Response, body: dict) -> str:
    for key in ("error_description", "message", "detail", "title", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:300]
    text = " ".join((resp.text or "").split())[:120]
    return f"HTTP {resp.status_code}" + (f": {text}" if text else "")


def classify_refusal(resp: requests.Response, *, display: str, provider: str,
                     grant: str = "refresh_token") -> ProviderError:
    """The exception for a token request the provider refused (4xx other than 429).

    ``grant`` names what was presented: ``refresh_token`` (a worker refreshing an
    identity) or ``authorization_code`` (the connect flow).
    """
    body = _body(resp)
    error = body.get("error") if isinstance(body.get("error"), str) else ""
    detail = _detail(resp, body)
    details = {"status": resp.status_code, "error": error or None, "code": body.get("code"), "message": detail}
    said = f"{error}: {detail}" if error and error != detail else detail
    if error in GRANT_ERRORS or (error == "invalid_request" and GRANT_WORDS.search(detail)):
        refused_grant = True
    elif error:
        refused_grant = False
    else:
        refused_grant = resp.status_code == 400 and bool(GRANT_WORDS.search(detail))
    if not refused_grant:
        setting = f"PUSHWIRE_{provider.upper()}"
        info = (f"{display} refused Pushwire's app credentials at its token endpoint ({said}). This is for the "
                f"operator to fix: check {setting}_CLIENT_ID and {setting}_CLIENT_SECRET against the app registered "
                f"with {display} (and that the app may use this grant); the user does not need to reconnect.")
        report_config_error(provider, "provider_misconfigured", f"{resp.status_code}:{error or detail}", info)
        return Misconfigured(info, details=details)
    if grant == "authorization_code":
        return ReconnectRequired(
            f"{display} refused the authorization code ({said}); it may have expired or been used already. "
            "Start the connection again.", reason="authorization_code_refused", details=details)
    return ReconnectRequired(
        f"{display} refused to refresh this identity's token ({said}): it expired or was revoked. "
        f"The user must reconnect their {display} account.", details=details)


def refresh_grant(adapter, url: str, refresh_token: str, *, display: str, translate,
                  basic_auth: bool = False, client_in_body: bool = False, **extra):
    """The OAuth 2 refresh grant; returns ``app.providers.base.TokenSet``.

    The client authenticates with HTTP Basic (``basic_auth``) or with
    ``client_id``/``client_secret`` in the form (``client_in_body``); ``extra`` adds
    form fields. 429 and 5xx go through ``translate(resp)`` (retryable); other
    refusals through ``classify_refusal``. The old refresh token is kept when the
    answer carries no new one.
    """
    from app.providers.base import TokenSet

    client = WebApplicationClient(adapter.client_id)
    if client_in_body:
        extra.update(client_id=adapter.client_id, client_secret=adapter.client_secret)
    body = client.prepare_refresh_body(refresh_token=refresh_token, **extra)
    resp = adapter.request(
        "POST", url, data=body, auth=HTTPBasicAuth(adapter.client_id, adapter.client_secret) if basic_auth else None,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    if resp.status_code == 429 or resp.status_code >= 500:
        raise translate(resp)
    if resp.status_code >= 400:
        raise classify_refusal(resp, display=display, provider=adapter.name)
    try:
        token = client.parse_request_body_response(resp.text)
    except (OAuth2Error, ValueError) as exc:
        raise classify_refusal(resp, display=display, provider=adapter.name) if _body(resp).get("error") else \
            ProviderError(f"{display} answered the token refresh with something that is not a token "
                          f"({_detail(resp, _body(resp))}).", reason="token_response_invalid") from exc
    expires_at = None
    if token.get("expires_in"):
        expires_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=int(token["expires_in"]))
    return TokenSet(token["access_token"], token.get("refresh_token") or refresh_token, expires_at)


def report_config_error(provider: str, reason: str, value: str, message: str) -> None:
    """Tell operators once per process and ``value`` (a log line and a metric), not once per push."""
    key = f"{provider}:{reason}:{value}"
    with _reported_lock:
        if key in _reported:
            return
        _reported.add(key)
    from app.ops.metrics import PROVIDER_CONFIG_ERRORS

    PROVIDER_CONFIG_ERRORS.labels(provider, reason).inc()
    log.error("provider configuration error: %s", message, extra={"provider": provider, "reason": reason})
