"""The small base class every provider adapter implements, and what it is handed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import requests
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests.auth import HTTPBasicAuth

from app.providers.errors import (
    AuthExpired,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProviderError,
    RateLimited,
    ReconnectRequired,
    TransientError,
)


@dataclass
class TokenSet:
    """Tokens as a provider's token endpoint returns them."""

    access_token: str
    refresh_token: str | None = None
    expires_at: dt.datetime | None = None


@dataclass
class StagedMedia:
    """A file in staging that an upload reads back in chunks."""

    store: Any  # app.staging.base.StagingStore
    key: str
    size: int
    format: str  # one of app.sniff.VIDEO_FORMATS / IMAGE_FORMATS
    mime_type: str


@dataclass
class PushContext:
    """Everything an adapter needs for one push; built by the upload stage."""

    request_token: str
    kind: str  # e.g. "video", "post", "page/video", "playlist/video"
    payload: dict
    access_token: str
    provider_user_id: str
    profile: dict
    staged: StagedMedia | None = None
    progress: dict = field(default_factory=dict)
    save_progress: Callable[[dict], None] = lambda progress: None
    report_bytes: Callable[[int], None] = lambda total: None
    mark_processing: Callable[[], None] = lambda: None
    sleep: Callable[[float], None] = lambda seconds: None
    #: ``download(url, max_bytes) -> (bytes, format)``: fetch a small media file
    #: (a picture, a thumbnail) through the SSRF-safe client and sniff its format
    #: (app.sniff.detect_image_format); raises InvalidInput for a bad or oversized file.
    download: Callable[[str, int], tuple[bytes, str]] = lambda url, max_bytes: (b"", "")


@dataclass
class PushOutcome:
    """What a finished push produced: ids to record and the callback's ``data``."""

    provider_ids: dict
    data: dict


class ProviderAdapter:
    """Speaks one network's protocol. Subclasses set ``name`` and implement ``push``."""

    name: ClassVar[str]
    #: Kinds whose media must be downloaded to staging before upload.
    staged_kinds: ClassVar[frozenset[str]] = frozenset()
    #: Size cap in bytes for staged videos, per provider.
    max_video_bytes: ClassVar[int] = 2 * 1024**3

    def __init__(self, base_url: str, *, client_id: str = "", client_secret: str = "",
                 session: requests.Session | None = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.http = session or requests.Session()
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings) -> "ProviderAdapter":
        """Build the adapter from ``app.config.Settings`` (overridden for extra settings)."""
        return cls(
            settings.provider_url(cls.name),
            client_id=getattr(settings, f"{cls.name}_client_id", ""),
            client_secret=getattr(settings, f"{cls.name}_client_secret", ""),
            timeout=settings.outbound_read_timeout,
        )

    def push(self, ctx: PushContext) -> PushOutcome:
        """Do the provider work for ``ctx.kind``; raise ProviderError subclasses on failure."""
        raise NotImplementedError

    def delete(self, kind: str, provider_ids: dict, access_token: str) -> bool:
        """Delete a pushed object at the provider; False when the provider offers no way."""
        return False

    def exists(self, kind: str, provider_ids: dict, access_token: str) -> bool | None:
        """Whether a pushed object still exists at the provider (None: cannot tell)."""
        return None

    def list_comments(self, kind: str, provider_ids: dict, access_token: str, since: str | None = None) -> list[dict]:
        """New comments on a pushed video, oldest first, each
        ``{"id", "text", "created_at", "author": {"name", "profile_image_url", ...}}``."""
        return []

    def refresh(self, refresh_token: str) -> TokenSet:
        """Exchange a refresh token; providers without a refresh grant raise ReconnectRequired."""
        raise NotImplementedError

    def oauth2_refresh(self, url: str, refresh_token: str, *, display: str, translate,
                       basic_auth: bool = False, client_in_body: bool = False, **extra) -> TokenSet:
        """The OAuth 2 refresh grant as X, LinkedIn, Pinterest and Google speak it.

        oauthlib builds the form and parses the answer (its ``prepare_*_request``
        helpers refuse http:// URLs, which the sandbox uses, so the HTTP call is
        ours). The client authenticates with HTTP Basic (``basic_auth``) or with
        ``client_id``/``client_secret`` in the form (``client_in_body``). 429/5xx
        go through ``translate(resp)`` (retryable); a refused refresh token means
        the user must reconnect; refused client credentials are the operator's
        to fix. The old refresh token is kept when the answer has no new one.
        """
        client = WebApplicationClient(self.client_id)
        if client_in_body:
            extra.update(client_id=self.client_id, client_secret=self.client_secret)
        body = client.prepare_refresh_body(refresh_token=refresh_token, **extra)
        resp = self.request(
            "POST", url, data=body, auth=HTTPBasicAuth(self.client_id, self.client_secret) if basic_auth else None,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if resp.status_code == 429 or resp.status_code >= 500:
            raise translate(resp)
        try:
            token = client.parse_request_body_response(resp.text)
        except OAuth2Error as exc:
            if exc.error in ("invalid_client", "unauthorized_client"):
                raise ProviderError(
                    f"{display} rejected Pushwire's client credentials; check "
                    f"PUSHWIRE_{self.name.upper()}_CLIENT_ID and PUSHWIRE_{self.name.upper()}_CLIENT_SECRET.",
                    reason="client_credentials_rejected",
                ) from exc
            raise ReconnectRequired(
                f"{display} refused to refresh this identity's token ({exc.error}: "
                f"{exc.description or 'no description'}); the user must reconnect their {display} account.",
                details={"error": exc.error, "status": resp.status_code},
            ) from exc
        expires_at = None
        if token.get("expires_in"):
            expires_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=int(token["expires_in"]))
        return TokenSet(token["access_token"], token.get("refresh_token") or refresh_token, expires_at)

    def needs_staging(self, kind: str) -> bool:
        return kind in self.staged_kinds

    def request(self, method: str, path: str, *, publish: bool = False, **kwargs) -> requests.Response:
        """One HTTP call to the provider; network faults become TransientError.

        On a ``publish`` step (one that makes something public and is not
        idempotent) a fault means the outcome is unknown, so it raises
        OutcomeUnknown instead: retrying blindly could post twice.
        """
        url = path if path.startswith("http") else self.base_url + path
        kwargs.setdefault("timeout", self.timeout)
        try:
            return self.http.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            # A body that stalls past the read timeout or is cut mid-chunk is a reset.
            if publish:
                raise OutcomeUnknown(
                    f"{self.name} did not confirm the publish step ({type(exc).__name__}); "
                    "it may or may not have been published.",
                ) from exc
            raise TransientError(
                f"{self.name} did not answer ({type(exc).__name__}); the request will be retried.",
                reason="provider_unreachable",
            ) from exc


def publish_started(ctx: PushContext, id_key: str) -> bool:
    """Whether ``publish_once(ctx, id_key, ...)`` ran before (done, or interrupted):
    then it will not call ``create`` again, so its inputs need not be prepared."""
    return bool(ctx.progress.get(id_key) or ctx.progress.get(f"{id_key}_publishing"))


def publish_once(ctx: PushContext, id_key: str, create, provider: str, last: bool = False) -> str:
    """Run a non-idempotent publish step at most once across retries and crashes.

    A marker is saved before the call; the created id right after it (``last``:
    the push's final step, whose id is saved with the push's success, in the
    same transaction, instead of a transaction of its own). A task
    that finds the marker without an id cannot know whether the first attempt
    published (a worker killed mid-request), so it reports OutcomeUnknown
    instead of posting again. Refusals that prove nothing was created (4xx,
    429) clear the marker so a retry is allowed.
    """
    if ctx.progress.get(id_key):
        return ctx.progress[id_key]
    if ctx.progress.get(f"{id_key}_publishing"):
        raise OutcomeUnknown(
            f"A previous attempt to publish on {provider} was interrupted before {provider} answered; "
            "it may or may not have been published, so it was not sent again. Check the account.",
        )
    ctx.progress[f"{id_key}_publishing"] = True
    ctx.save_progress(ctx.progress)
    try:
        created = create()
    except (RateLimited, InvalidInput, PermissionDenied, NotFound, AuthExpired):
        ctx.progress.pop(f"{id_key}_publishing", None)
        ctx.save_progress(ctx.progress)
        raise
    except TransientError as exc:  # a 5xx on the publish step: outcome unknown
        raise OutcomeUnknown(f"{provider} answered with an error after the publish request ({exc.info}); "
                             "it may or may not have been published, so it was not sent again.") from exc
    ctx.progress[id_key] = created
    ctx.progress.pop(f"{id_key}_publishing", None)
    if not last:
        ctx.save_progress(ctx.progress)
    return created
