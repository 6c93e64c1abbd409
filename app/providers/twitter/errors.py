"""X's error answers translated into our exception tree (docs/providers.md section 1).

X answers problem JSON (``{"title", "detail", "type", "errors"}``); a 429 is one
of three limits (the 15-minute window, a 24-hour user or app limit, the plan's
usage cap), told apart by its headers and ``type``.
"""

from __future__ import annotations

import re
import time

import requests

from app.providers.errors import InvalidInput, PermissionDenied, ProviderError, RateLimited, ReconnectRequired
from app.providers.http import classify, ladder, retry_after

#: How long to wait on a ``usage-capped`` 429 that names no reset (a monthly plan cap).
USAGE_CAP_WAIT = 24 * 3600
LONG_VIDEO = re.compile(r"not allowed to post a video longer than (\d+) minutes", re.IGNORECASE)


def translate(resp: requests.Response, media: bool = False) -> ProviderError:
    """Map X's problem JSON and status codes onto ProviderError subclasses.

    ``media``: the call was a media call, where a 403 means the token lacks
    ``media.write`` (granted before Pushwire asked for it): the user must reconnect.
    """
    try:
        body = resp.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    detail = body.get("detail") or body.get("title") or resp.reason or "error"
    ptype = str(body.get("type", ""))
    status = resp.status_code
    details = {"status": status, "title": body.get("title"), "detail": body.get("detail"), "type": ptype}
    if status == 429 and (limit := _daily_or_capped(resp, ptype, details)):
        return limit
    if status == 403:
        found = LONG_VIDEO.search(str(detail))
        if found:
            return PermissionDenied(
                f"X refused the post: this account may not post videos longer than {found.group(1)} minutes "
                "(accounts without X Premium: 20 minutes; with Premium: 125). Trim the video and push it again.",
                reason="video_too_long_for_account", details=details)
        if media and "unsupported-authentication" not in ptype:
            return ReconnectRequired(
                f"X refused the media upload ({detail}): this account's connection does not grant Pushwire the "
                "media.write permission (it was connected before Pushwire asked for it, or it was withdrawn). "
                "The user must reconnect their X account.", details=details)
    messages = " ".join(str(e.get("message", "")) for e in body.get("errors", []) if isinstance(e, dict))
    if classify(status) is InvalidInput:
        details = {**details, "errors": messages}
    return ladder(resp, "X", detail, details=details, wait=_window_wait(resp), info={
        RateLimited: "X rate limit reached; the upload waits until the limit resets.",
        InvalidInput: f"X rejected the request: {messages or detail}"})


def _daily_or_capped(resp: requests.Response, ptype: str, details: dict) -> RateLimited | None:
    """A 429 is the 15-minute window (None: the ladder's), a 24-hour user or app limit,
    or the plan's usage cap. Only the first clears at ``x-rate-limit-reset``; the others
    say so in their own headers (``x-user-limit-24hour-*``, ``x-app-limit-24hour-*``) or
    not at all."""
    headers = resp.headers
    for scope, who in (("user", "this X account's"), ("app", "Pushwire's X app's")):
        if headers.get(f"x-{scope}-limit-24hour-remaining") == "0":
            wait = _until(headers.get(f"x-{scope}-limit-24hour-reset"))
            return RateLimited(
                f"X's 24-hour limit for {who} posts is reached; the push waits until it resets"
                f"{_at(wait)}.", retry_after=wait, reason="daily_limit_reached",
                details={**details, "limit": headers.get(f"x-{scope}-limit-24hour-limit"), "scope": scope})
    if "usage-capped" in ptype:
        wait = _until(headers.get("x-app-limit-24hour-reset")) or USAGE_CAP_WAIT
        return RateLimited(
            f"X's usage cap for Pushwire's app (its API plan) is reached; waiting for the 15-minute window would "
            f"not help, so the push waits{_at(wait)} and tries again. The operator can raise the plan's cap.",
            retry_after=wait, reason="usage_capped", details=details)
    return None


def _until(epoch: str | None) -> float | None:
    try:
        return max(0.0, float(epoch) - time.time()) if epoch else None
    except ValueError:
        return None


def _at(wait: float | None) -> str:
    if not wait:
        return ""
    return " (" + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(time.time() + wait)) + ")"


def _window_wait(resp: requests.Response) -> float | None:
    """Seconds to wait: ``Retry-After`` if present, else until ``x-rate-limit-reset``."""
    wait = retry_after(resp)
    return wait if wait is not None else _until(resp.headers.get("x-rate-limit-reset"))
