"""The exception tree every provider adapter translates vendor errors into.

Retry policy depends on these types, never on a vendor's status codes::

    ProviderError                 reason + info a person can act on; http status for envelopes
    ├── TransientError            back off and retry (timeouts, resets, 5xx)
    │   └── RateLimited           wait ``retry_after`` seconds, then retry
    ├── AuthExpired               refresh the access token (each time it expires), then retry
    ├── ReconnectRequired         the user must connect the account again (permanent)
    ├── PermissionDenied          403: the identity lacks a permission (permanent)
    │   └── Misconfigured         the provider refused Pushwire's own app setup (operator, permanent)
    ├── InvalidInput              400: the provider refused the content (permanent)
    ├── NotFound                  404: board/page/playlist/video unknown (permanent)
    ├── ProcessingFailed          the provider could not process the media (permanent)
    └── OutcomeUnknown            a publish step may or may not have happened
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base class. ``reason`` is a machine code, ``info`` a sentence for a person."""

    status = 502
    reason = "provider_error"
    transient = False

    def __init__(self, info: str, *, reason: str | None = None, details: dict | None = None):
        super().__init__(info)
        self.info = info
        if reason:
            self.reason = reason
        self.details = details or {}


class TransientError(ProviderError):
    status = 503
    reason = "provider_unavailable"
    transient = True


class RateLimited(TransientError):
    status = 429
    reason = "rate_limited"

    def __init__(self, info: str, *, retry_after: float | None = None, **kw):
        super().__init__(info, **kw)
        self.retry_after = retry_after


class AuthExpired(ProviderError):
    status = 401
    reason = "token_expired"


class ReconnectRequired(ProviderError):
    status = 403
    reason = "reconnect_required"


class PermissionDenied(ProviderError):
    status = 403
    reason = "permission_denied"


class InvalidInput(ProviderError):
    status = 400
    reason = "rejected_by_provider"


class NotFound(ProviderError):
    status = 404
    reason = "not_found"


class ProcessingFailed(ProviderError):
    status = 422
    reason = "processing_failed"


class OutcomeUnknown(ProviderError):
    status = 504
    reason = "outcome_unknown"


class Misconfigured(PermissionDenied):
    """The provider refused the operator's setup (client id/secret, app access level,
    API version): nothing the end user can fix, so the info names the setting. A
    refusal: nothing was created, so a publish step may be sent again once fixed."""

    status = 502
    reason = "provider_misconfigured"
