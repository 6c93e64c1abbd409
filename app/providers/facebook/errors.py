"""Translating Graph API errors into our exception tree (docs/providers.md §0, §2.6, §6).

Facebook classifies errors in the body (``error.code``, ``error_subcode``,
``is_transient``), not the HTTP status, so ``translate`` reads the body first.
``kind`` (the push kind) picks the reason for permission errors: user-feed and
group publishing were retired by Facebook, which no reconnect can fix.
"""

from __future__ import annotations

import json

import requests

from app.providers.errors import (
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProviderError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)
from app.providers.http import ladder, retry_after

THROTTLE_CODES = frozenset({4, 17, 32, 341, 613})
TRANSIENT_SUBCODES = frozenset({1363030, 1363019, 1363047})
RESYNC_SUBCODE = 1363037
DEFAULT_THROTTLE_WAIT = 60.0  # no hint: wait out (part of) the rolling window rather than hammer

PROFILE_RETIRED = ("Facebook no longer lets apps publish to personal profiles (retired in 2018); "
                   "publish to a Facebook Page instead (facebook/page/... endpoints).")
GROUPS_RETIRED = ("Facebook no longer lets apps post to groups (the Groups API was removed in April 2024); "
                  "publish to a Facebook Page instead (facebook/page/... endpoints).")


def error_body(resp: requests.Response) -> dict:
    """The ``error`` object of a Graph answer, or {} when the body is not Graph JSON."""
    try:
        body = resp.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def translate(resp: requests.Response, kind: str, publish: bool = False) -> ProviderError:
    """Map one failed Graph answer onto a ProviderError subclass."""
    err = error_body(resp)
    code, sub = _int(err.get("code")), _int(err.get("error_subcode"))
    message = err.get("error_user_msg") or err.get("message") or resp.reason or f"HTTP {resp.status_code}"
    details = {"status": resp.status_code, "code": code, "error_subcode": sub, "message": err.get("message"),
               "type": err.get("type"), "error_user_title": err.get("error_user_title"),
               "error_user_msg": err.get("error_user_msg"), "fbtrace_id": err.get("fbtrace_id"),
               "error_data": err.get("error_data")}
    if code == 190:
        return ReconnectRequired(
            f"Facebook rejected the access token ({err.get('message')}); Facebook has no way to refresh it, "
            "so the user must reconnect Facebook (log in again).", reason="facebook_reconnect_required",
            details=details)
    if code in THROTTLE_CODES or (code is not None and 80000 <= code < 80100) or sub == 1390008:
        return RateLimited(f"Facebook is throttling this app or Page ({message}); waiting before retrying.",
                           retry_after=throttle_wait(resp), details=details)
    if sub == RESYNC_SUBCODE:  # before is_transient: it carries the offsets to resume from
        return InvalidInput(f"Facebook expected another upload offset: {message}",
                            reason="facebook_upload_offset_mismatch", details=details)
    if resp.status_code >= 500 and publish:
        return OutcomeUnknown(f"Facebook answered {resp.status_code} to the publish step ({message}); "
                              "it may or may not have been published.", details=details)
    if code in (1, 2) or err.get("is_transient") or sub in TRANSIENT_SUBCODES:
        return TransientError(f"Facebook had a temporary problem ({message}); retrying.", details=details)
    if not err:  # no Graph error (something in between answered): the HTTP status is all there is
        return ladder(resp, "Facebook", message, details=details, wait=throttle_wait(resp), info={
            TransientError: f"Facebook had a temporary problem ({message}); retrying.",
            RateLimited: f"Facebook is throttling this app or Page ({message}); waiting before retrying."})
    return _permanent(code, sub, message, kind, details)


def _permanent(code, sub, message: str, kind: str, details: dict) -> ProviderError:
    target = kind.rpartition("/")[0]
    if code in (3, 10) or (code is not None and 200 <= code <= 299):
        if target == "":
            return PermissionDenied(PROFILE_RETIRED, reason="facebook_profile_publishing_retired", details=details)
        if target == "group":
            return PermissionDenied(GROUPS_RETIRED, reason="facebook_groups_retired", details=details)
        return PermissionDenied(
            f"Facebook refused: {message}. The connected user needs a role on the Page with the CREATE_CONTENT task "
            "and must have granted pages_manage_posts, pages_read_engagement and pages_show_list; reconnect with those.",
            reason="facebook_permission_denied", details=details)
    if code == 368:
        return PermissionDenied(f"Facebook blocked this action as abusive or against its policies ({message}); "
                                "it will not be retried.", reason="facebook_blocked", details=details)
    if code == 506 or sub == 1366051:
        return InvalidInput(f"Facebook refused a duplicate post ({message}); change the message.",
                            reason="duplicate_post", details=details)
    if sub == 1366046:
        return InvalidInput("Facebook refused the photo: it must be a JPG or PNG under 4 MB.",
                            reason="unsupported_picture", details=details)
    if sub == 1363023:
        return InvalidInput("The video is larger than Facebook's 2 GB upload limit.", reason="video_too_large",
                            details=details)
    if sub == 1363022:
        return InvalidInput("The video is smaller than Facebook's 1 KB minimum.", reason="video_too_small",
                            details=details)
    if code == 100 and sub == 33:
        return NotFound(f"Facebook does not know this object, or the token cannot see it ({message}).",
                        reason="facebook_object_not_found", details=details)
    if sub in (1609005, 1609008, 2061006):
        return InvalidInput(f"Facebook refused the link or URL: {message}", reason="invalid_link", details=details)
    return InvalidInput(f"Facebook rejected the request: {message}", details=details)


def throttle_wait(resp: requests.Response) -> float:
    """Seconds to wait: ``Retry-After`` if sent, else the largest
    ``estimated_time_to_regain_access`` (minutes) in the BUC usage header."""
    wait = retry_after(resp)
    if wait is not None:
        return wait
    minutes = 0.0
    for header in ("X-Business-Use-Case-Usage", "X-Ad-Account-Usage"):
        try:
            usage = json.loads(resp.headers.get(header) or "{}")
        except ValueError:
            continue
        for entries in usage.values() if isinstance(usage, dict) else ():
            for entry in entries if isinstance(entries, list) else [entries]:
                if isinstance(entry, dict):
                    minutes = max(minutes, float(entry.get("estimated_time_to_regain_access") or 0))
    return minutes * 60 if minutes else DEFAULT_THROTTLE_WAIT


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
