"""YouTube's error answers translated into our exception tree (reference §5.5, §0).

Google's body is ``{"error": {"code", "message", "errors": [{"reason", "domain",
"message"}], "status"}}``; the class is decided by ``errors[0].reason`` first and
the HTTP status second. ``reason`` codes are the vendor's in snake_case
(``manualSortRequired`` -> ``manual_sort_required``) unless listed below.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import requests

from app.providers.errors import InvalidInput, NotFound, PermissionDenied, ProviderError, RateLimited
from app.providers.http import ladder

PACIFIC = ZoneInfo("America/Los_Angeles")
UPLOAD_LIMIT_WAIT = 24 * 3600.0

#: A sentence a person can act on, per vendor reason.
INFO = {
    "invalidTitle": "YouTube refused the title: at most 100 characters, without '<' or '>'.",
    "invalidDescription": "YouTube refused the description: at most 5,000 bytes, without '<' or '>'.",
    "invalidTags": "YouTube refused the tags: together they may have at most 500 characters.",
    "invalidCategoryId": "YouTube does not know this category_id; pick one from videoCategories.list.",
    "invalidPublishAt": "YouTube refused publishAt: a scheduled video must be private.",
    "manualSortRequired": "This playlist is not sorted manually, so a position cannot be given; "
                          "sort the playlist manually in YouTube Studio or leave out position.",
    "playlistNotFound": "YouTube does not know this playlist (or it belongs to another channel).",
    "videoNotFound": "YouTube does not know this video; check the video_id.",
    "playlistContainsMaximumNumberOfVideos": "The playlist is full (YouTube allows about 5,000 videos).",
    "forbidden": "YouTube refused the request for this channel (missing permission or not its owner).",
    "insufficientPermissions": "The connected account did not grant the YouTube scope this needs; "
                               "the user must reconnect and accept the YouTube permissions.",
    "youtubeSignupRequired": "The Google account has no YouTube channel yet; the user must create one.",
    "accessNotConfigured": "The YouTube Data API is not enabled for this Google Cloud project.",
    "authenticatedUserAccountSuspended": "The YouTube account is suspended.",
    "maxChannelSectionExceeded": "The channel already has 10 sections, YouTube's maximum; remove one first.",
    "commentsDisabled": "Comments are disabled on this video.",
}
OWN_REASONS = {"insufficientPermissions": "missing_scope", "accessNotConfigured": "api_not_enabled",
               "forbidden": "permission_denied"}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() if name else ""


def seconds_to_pacific_midnight(now: dt.datetime | None = None) -> float:
    """Seconds until YouTube's quota day resets (midnight Pacific time)."""
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(PACIFIC)
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - now).total_seconds())


def parse(resp: requests.Response) -> tuple[str, str, str]:
    """``(reason, domain, message)`` of a Google error body (empty strings if absent)."""
    try:
        error = resp.json().get("error")
    except ValueError:
        error = None
    if not isinstance(error, dict):
        return "", "", resp.reason or ""
    first = (error.get("errors") or [{}])[0]
    return first.get("reason", ""), first.get("domain", ""), error.get("message") or first.get("message", "")


def translate(resp: requests.Response, what: str = "the request") -> ProviderError:
    """Map a YouTube error response onto a ProviderError subclass."""
    reason, domain, message = parse(resp)
    status = resp.status_code
    details = {"status": status, "reason": reason, "domain": domain, "message": message}
    code = OWN_REASONS.get(reason) or snake(reason) or None
    info = INFO.get(reason) or f"YouTube refused {what} ({reason or status}): {message}"
    if reason in ("quotaExceeded", "dailyLimitExceeded"):
        wait = seconds_to_pacific_midnight()
        return RateLimited(f"The YouTube API quota of this project is used up; it resets at midnight Pacific time "
                           f"(in {wait / 3600:.1f} h).", retry_after=wait, reason="quota_exceeded", details=details)
    if reason == "uploadLimitExceeded":  # the channel's rolling 24 h cap: wait it out, do not fail
        when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=UPLOAD_LIMIT_WAIT)
        return RateLimited(f"This YouTube channel reached its daily upload limit; Pushwire will upload again "
                           f"after {when:%Y-%m-%d %H:%M} UTC (24 hours).", retry_after=UPLOAD_LIMIT_WAIT,
                           reason="upload_limit_exceeded", details={**details, "retry_at": when.isoformat()})
    if reason in ("rateLimitExceeded", "userRateLimitExceeded"):
        status = 429
    elif status != 429 and status < 500 and reason == "authError":  # the reason outranks the status
        status = 401
    elif status not in (401, 429) and status < 500 and reason in ("playlistNotFound", "videoNotFound"):
        status = 404
    return ladder(resp, "YouTube", message or "server error", details=details, status=status, info={
        RateLimited: "YouTube is rate limiting this project; the request will be retried.",
        NotFound: info, PermissionDenied: info, InvalidInput: info,
    }, reason={NotFound: code, PermissionDenied: code, InvalidInput: code})
