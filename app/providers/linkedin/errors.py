"""LinkedIn's error answers translated into our exception tree (docs/providers.md section 3).

LinkedIn answers ``{"status", "serviceErrorCode", "code", "message"}``; its daily
limits reset at 00:00 UTC, and a 426 (or ``NONEXISTENT_VERSION``) means the
configured ``LinkedIn-Version`` is not served.
"""

from __future__ import annotations

import re
import time

import requests

from app.providers.errors import (
    AuthExpired,
    InvalidInput,
    Misconfigured,
    PermissionDenied,
    ProcessingFailed,
    ProviderError,
    RateLimited,
    TransientError,
)
from app.providers.http import classify, ladder, retry_after
from app.providers.tokens import report_config_error

#: A 429 that does not name the daily limit clears within minutes: exponential backoff.
DAILY_LIMIT = re.compile(r"\bDAY\b|daily", re.IGNORECASE)


def seconds_until_utc_midnight(now: float | None = None) -> float:
    """LinkedIn's limits are daily and reset at 00:00 UTC."""
    now = time.time() if now is None else now
    return float(86400 - int(now) % 86400)


def translate(resp: requests.Response, kind: str | None = None) -> ProviderError:
    """Map LinkedIn's ``{"status","serviceErrorCode","code","message"}`` onto our tree."""
    try:
        body = resp.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    status, code = resp.status_code, str(body.get("code") or "")
    message = str(body.get("message") or body.get("error_description") or resp.reason or "error")
    details = {"status": status, "code": code, "serviceErrorCode": body.get("serviceErrorCode"), "message": message}
    rung = classify(status)
    if rung is RateLimited and DAILY_LIMIT.search(message):
        wait = retry_after(resp)  # rarely sent: else until the daily reset
        return RateLimited(
            f"LinkedIn's daily limit for this app or member is reached ({message}); the post waits until it "
            "resets at 00:00 UTC.", retry_after=seconds_until_utc_midnight() if wait is None else wait,
            reason="daily_limit_reached", details=details)
    if not issubclass(rung, TransientError) and (status == 426 or code == "NONEXISTENT_VERSION"):
        version = resp.request.headers.get("LinkedIn-Version", "?") if resp.request is not None else "?"
        info = (f"LinkedIn does not serve API version {version} (426 NONEXISTENT_VERSION: sunset, or a month "
                "LinkedIn never published). The operator must set PUSHWIRE_LINKEDIN_VERSION to a live version "
                "from LinkedIn's versioning page.")
        report_config_error("linkedin", "linkedin_version_sunset", version, info)
        return Misconfigured(info, reason="linkedin_version_sunset", details=details)
    if rung is PermissionDenied:
        return _forbidden(message, kind, details)
    if rung is InvalidInput:
        if "duplicate" in message.lower() or code == "DUPLICATE_POST":
            return InvalidInput(f"LinkedIn refused the post as a duplicate ({message}); change the text and push "
                                "again.", reason="duplicate_post", details=details)
        if code == "MEDIA_NOT_READY" or ("not yet available" in message.lower() and "PROCESSING_FAILED" not in message):
            return InvalidInput(f"LinkedIn has not finished processing the picture ({message}).",
                                reason="picture_not_ready", details=details)
        if "PROCESSING_FAILED" in message:
            return ProcessingFailed(f"LinkedIn could not process the picture: {message}. Try another image file.",
                                    reason="picture_processing_failed", details=details)
    return ladder(resp, "LinkedIn", message, details=details, info={
        RateLimited: f"LinkedIn is throttling requests ({message}); the post is retried with backoff.",
        AuthExpired: f"LinkedIn refused the access token ({code or message})."})


def _forbidden(message: str, kind: str | None, details: dict) -> PermissionDenied:
    if "media resource" in message:
        return PermissionDenied(f"LinkedIn refused the picture: {message}.", reason="media_forbidden", details=details)
    if kind == "company/post":
        return PermissionDenied(
            f"LinkedIn refused to post for this organization ({message}). The member needs the ADMINISTRATOR "
            "(or content poster) role on the page, and the app the w_organization_social permission.",
            reason="not_organization_admin", details=details,
        )
    return PermissionDenied(
        f"LinkedIn refused the request ({message}); reconnect the account granting the w_member_social permission.",
        details=details,
    )
