"""Pinterest's error answers translated into our exception tree (docs/providers.md section 4).

Pinterest answers ``{"code", "message"}``; a 403 with code 29 and Trial-access
wording is the operator's app setup, not the user's permission.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from app.providers.errors import InvalidInput, Misconfigured, NotFound, PermissionDenied, ProviderError
from app.providers.http import ladder
from app.providers.tokens import report_config_error


def error_body(resp: requests.Response) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_message(resp: requests.Response) -> str:
    return str(error_body(resp).get("message") or resp.reason or f"HTTP {resp.status_code}")


def translate(resp: requests.Response, missing: str = "object") -> ProviderError:
    """Map Pinterest's ``{code, message}`` errors onto our exception tree. ``missing``
    names what a 404 means for this call (``board`` on Pin creation)."""
    status, message = resp.status_code, error_message(resp)
    details = {"status": status, **error_body(resp)}
    if status == 403 and _trial_access(resp):
        info = ("This Pinterest app has Trial access, which may not create Pins on the production API "
                f"({message}). The operator must either use the API sandbox (PUSHWIRE_PINTEREST_API_URL="
                "https://api-sandbox.pinterest.com; Pins there are visible only to their creator) or request "
                "Standard access for the app in Pinterest's developer portal.")
        report_config_error("pinterest", "pinterest_trial_access", urlsplit(resp.url or "").netloc, info)
        return Misconfigured(info, reason="pinterest_trial_access", details=details)
    if missing == "board":
        not_found = (f"Pinterest has no board with this id for this account ({message}); "
                     "use the numeric id of one of the user's boards.")
    else:
        not_found = f"Pinterest does not know this {missing}: {message}"
    return ladder(resp, "Pinterest", message, details=details, info={
        PermissionDenied: f"Pinterest refused the request: {message} Check that the account granted the "
                          "boards:read, boards:write, pins:read and pins:write scopes.",
        NotFound: not_found,
        InvalidInput: f"Pinterest rejected the Pin: {message}",
    }, reason={NotFound: f"{missing}_not_found"})


def _trial_access(resp: requests.Response) -> bool:
    """403 ``code`` 29 also answers other refusals: only its Trial-access wording counts."""
    body = error_body(resp)
    text = str(body.get("message", "")).lower()
    return body.get("code") == 29 and ("trial access" in text or "api sandbox" in text)
