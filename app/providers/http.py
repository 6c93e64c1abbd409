"""What every network's error translation shares: the Retry-After parser and the status ladder.

Each ``app/providers/<net>/errors.py`` has one ``translate(resp, ...)``: it reads
its network's error body, handles that network's own cases first (X's 24-hour
and usage-cap limits, LinkedIn's daily limit and sunset versions, Facebook's
codes and subcodes, YouTube's quota reasons, Pinterest's Trial access...), then
hands the rest to ``ladder``, which maps the HTTP status onto the exception tree
once for all of them::

    429          RateLimited      wait ``retry_after`` seconds (the Retry-After header unless told)
    5xx, 408     TransientError   back off and retry
    401          AuthExpired      refresh the token and resend
    403          PermissionDenied
    404          NotFound
    other 4xx    InvalidInput

A network words each rung its own way through ``info`` and names it through
``reason`` (both keyed by the rung's class); the defaults read
"<Network> answered 503 (message); retrying." and so on.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
from typing import Mapping

import requests

from app.providers.errors import (
    AuthExpired,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    TransientError,
)

#: The default sentence per rung (``str.format`` with ``display``, ``status`` and ``message``).
DEFAULT_INFO: dict[type[ProviderError], str] = {
    RateLimited: "{display} rate limit reached ({message}); the push waits and retries.",
    TransientError: "{display} answered {status} ({message}); retrying.",
    AuthExpired: "{display} refused the access token (expired or revoked).",
    PermissionDenied: "{display} refused the request: {message}",
    NotFound: "{display} does not know this object: {message}",
    InvalidInput: "{display} rejected the request: {message}",
}

_HEADER = object()  # ``ladder(wait=...)`` not given: read the Retry-After header


def retry_after(resp: requests.Response, header: str = "Retry-After",
                now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 §10.2.3): delta-seconds
    (``120``; a fraction is taken too) or an HTTP-date (``Wed, 21 Oct 2026 07:28:00 GMT``;
    one already past means 0). None when absent, negative, not a number or not a date:
    then the caller falls back on its network's own hint or on backoff."""
    value = (resp.headers.get(header) or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return _until_date(value, now)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _until_date(value: str, now: dt.datetime | None) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def classify(status: int) -> type[ProviderError]:
    """The rung of the ladder an HTTP error status falls on."""
    if status == 429:
        return RateLimited
    if status >= 500 or status == 408:
        return TransientError
    return {401: AuthExpired, 403: PermissionDenied, 404: NotFound}.get(status, InvalidInput)


def ladder(resp: requests.Response, display: str, message: str, *, details: dict | None = None,
           status: int | None = None, info: Mapping[type[ProviderError], str] | None = None,
           reason: Mapping[type[ProviderError], str | None] | None = None, wait=_HEADER) -> ProviderError:
    """The ProviderError for an error answer no special case of its network claimed.

    ``display`` names the network in sentences, ``message`` is what it said;
    ``info`` and ``reason`` replace a rung's sentence or machine code (a missing
    or None reason keeps the class's own). ``status`` replaces the answer's
    status (a network whose body outranks it), ``wait`` the Retry-After header's
    seconds for a 429 (a network with its own reset hint).
    """
    status = resp.status_code if status is None else status
    kind = classify(status)
    text = (info or {}).get(kind) or DEFAULT_INFO[kind].format(display=display, status=status, message=message)
    kwargs: dict = {"reason": (reason or {}).get(kind),
                    "details": {"status": status, "message": message} if details is None else details}
    if kind is RateLimited:
        kwargs["retry_after"] = retry_after(resp) if wait is _HEADER else wait
    return kind(text, **kwargs)
