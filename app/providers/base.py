"""The small base class every provider adapter implements, and what it is handed."""

from __future__ import annotations

import datetime as dt
from dataclasses import InitVar, dataclass, field
from typing import Any, Callable, ClassVar, Protocol, runtime_checkable

import requests

from app.progress import ProviderState, publish_marker
from app.providers.capabilities import require_mixins
from app.providers.errors import (
    AuthExpired,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    TransientError,
)


@dataclass
class TokenSet:
    """Tokens as a provider's token endpoint returns them."""

    access_token: str
    refresh_token: str | None = None
    expires_at: dt.datetime | None = None


#: Refreshes one HTTP call may trigger (a refused token, then a refused fresh one).
MAX_REFRESHES_PER_CALL = 2
#: A sanity bound per task: a long upload needs one refresh per ~hour of tokens.
MAX_REFRESHES_PER_TASK = 50


class TokenHolder:
    """The access token of one push, kept fresh for every provider call.

    Adapters ask ``get()`` before each call (``ProviderAdapter.request(...,
    tokens=ctx.tokens)`` does it for them): a token that expires within
    ``margin`` is replaced through ``load`` first. A call the provider answers
    with 401 asks ``refresh(rejected)`` and is sent again, at most
    ``MAX_REFRESHES_PER_CALL`` times per call: a long upload or a long
    processing wait may outlive any number of tokens, as long as each fresh one
    works. ``load()`` and ``refresh(rejected)`` return a ``TokenSet``; without
    them (a bare token) nothing can be refreshed and refusals surface as they are.
    """

    margin = dt.timedelta(minutes=5)
    recheck = dt.timedelta(seconds=30)  # after a load that left the token near expiry

    def __init__(self, token: str | None = None, expires_at: dt.datetime | None = None, *,
                 load: Callable[[], "TokenSet"] | None = None,
                 refresh: Callable[[str | None], "TokenSet"] | None = None):
        self._token, self.expires_at = token, _aware(expires_at)
        self._load, self._refresh = load, refresh
        self._checked_at: dt.datetime | None = None
        self.refreshes = 0  # in this task
        self.uses_since_refresh = 0
        self.refused_fresh = 0  # refreshes in a row whose token was refused at its first use

    @property
    def can_refresh(self) -> bool:
        return self._refresh is not None

    @property
    def current(self) -> str | None:
        """The token last handed out (no refresh)."""
        return self._token

    def set(self, token: str, expires_at: dt.datetime | None = None) -> None:
        self._token, self.expires_at = token, _aware(expires_at)

    def get(self) -> str:
        """A token to send now: loaded (and refreshed by the store) when missing or near expiry."""
        now = dt.datetime.now(dt.timezone.utc)
        stale = self.expires_at is not None and self.expires_at - self.margin <= now
        recently = self._checked_at is not None and now - self._checked_at < self.recheck
        if self._load is not None and (self._token is None or (stale and not recently)):
            self._checked_at = now
            self._apply(self._load())
        self.uses_since_refresh += 1
        return self._token or ""

    def refresh(self, rejected: str | None) -> str | None:
        """A new token after the provider refused ``rejected``; None when none can be had."""
        if self._refresh is None or self.refreshes >= MAX_REFRESHES_PER_TASK:
            return None
        self.refused_fresh = self.refused_fresh + 1 if self.uses_since_refresh <= 1 and self.refreshes else 0
        if self.refused_fresh >= MAX_REFRESHES_PER_CALL:
            return None
        self.refreshes += 1
        self._apply(self._refresh(rejected))
        self.uses_since_refresh = 0
        return self._token

    def _apply(self, tokens: "TokenSet") -> None:
        self._token, self.expires_at = tokens.access_token, _aware(tokens.expires_at)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


@dataclass
class StagedMedia:
    """A file in staging that an upload reads back in chunks."""

    store: Any  # app.staging.base.StagingStore
    key: str
    size: int
    format: str  # one of app.sniff.VIDEO_FORMATS / IMAGE_FORMATS
    mime_type: str
    _reader: Any = field(default=None, init=False, repr=False, compare=False)

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``, streamed: consecutive reads share one open
        stream (one GET on S3); another offset (a resume) re-opens it there. The
        stream is released once the last byte is read, or by ``close()``."""
        if self._reader is None:
            self._reader = self.store.reader(self.key)
        data = self._reader.read(offset, length)
        if offset + len(data) >= self.size:
            self._reader.close()
        return data

    @property
    def gets(self) -> int:
        """Read requests opened on the store so far (S3 GETs, file opens)."""
        return self._reader.gets if self._reader is not None else 0

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


@runtime_checkable
class PushHooks(Protocol):
    """What an adapter may ask of the stage running it (the upload stage implements
    it: app.pipeline.upload.UploadHooks; tests use app.providers.fake.RecordingHooks)."""

    def save_progress(self, progress: ProviderState) -> None:
        """Persist the adapter's own section (``ctx.progress``) before going on."""

    def report_bytes(self, total: int) -> None:
        """Bytes of the staged file sent so far (the audit's ``bytes_moved``)."""

    def mark_processing(self) -> None:
        """The upload is done and the provider is processing the media."""

    def sleep(self, seconds: float) -> None:
        """Wait between polls (the stage keeps its attempt alive meanwhile)."""

    def download(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        """Fetch a small media file (a picture, a thumbnail) through the SSRF-safe
        client and sniff its format (app.sniff.detect_image_format); raises
        InvalidInput for a bad or oversized file."""


@dataclass
class PushContext:
    """Everything an adapter needs for one push; built by the upload stage."""

    request_token: str
    kind: str  # e.g. "video", "post", "page/video", "playlist/video"
    payload: dict
    #: The starting token; read ``ctx.access_token`` (or pass ``tokens=ctx.tokens``
    #: to ``request``) before each call: it is refreshed near expiry.
    access_token: InitVar[str | None]
    provider_user_id: str
    profile: dict
    staged: StagedMedia | None = None
    #: The adapter's own section of the request's progress (app.progress.PROVIDER):
    #: nothing else is in it, and ``save_progress`` saves it there.
    progress: ProviderState = field(default_factory=dict)
    #: Keeps the access token fresh (see TokenHolder); built from ``access_token`` when not given.
    tokens: TokenHolder | None = None
    #: The stage's side of the push (required: there is no do-nothing default).
    hooks: PushHooks = field(kw_only=True)

    def __post_init__(self, access_token: str | None) -> None:
        if not isinstance(self.hooks, PushHooks):
            raise TypeError(f"PushContext.hooks must implement PushHooks, not {type(self.hooks).__name__}")
        if self.tokens is None:
            self.tokens = TokenHolder(access_token or None)

    def save_progress(self, progress: ProviderState) -> None:
        self.hooks.save_progress(progress)

    def report_bytes(self, total: int) -> None:
        self.hooks.report_bytes(total)

    def mark_processing(self) -> None:
        self.hooks.mark_processing()

    def sleep(self, seconds: float) -> None:
        self.hooks.sleep(seconds)

    def download(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        """``(bytes, format)`` of a small media file (see ``PushHooks.download``)."""
        return self.hooks.download(url, max_bytes)


def _get_access_token(ctx: PushContext) -> str:
    return ctx.tokens.get()


def _set_access_token(ctx: PushContext, token: str) -> None:
    ctx.tokens.set(token)


PushContext.access_token = property(_get_access_token, _set_access_token,
                                    doc="A usable access token now (refreshed when near expiry).")


@dataclass
class PushOutcome:
    """What a finished push produced: ids to record and the callback's ``data``."""

    provider_ids: dict
    data: dict


class ProviderAdapter:
    """Speaks one network's protocol. Subclasses set ``name`` and implement ``push``;
    deleting, existence checks and comments are optional capabilities, mixins in
    ``app.providers.capabilities``."""

    name: ClassVar[str]
    #: Kinds whose media must be downloaded to staging before upload.
    staged_kinds: ClassVar[frozenset[str]] = frozenset()
    #: Size cap in bytes for staged videos, per provider: what every account may post.
    max_video_bytes: ClassVar[int] = 2 * 1024**3
    #: Where the cap follows the posting account (X: 16 GiB with Premium), the largest
    #: any account has; None: ``max_video_bytes`` is everyone's. The download then caps
    #: at this ceiling and, only for a video past ``max_video_bytes``, asks the account's
    #: own cap (``account_tier``, see ``app.pipeline.account``).
    video_ceiling: ClassVar[int | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        require_mixins(cls)

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

    def run(self, ctx: PushContext) -> PushOutcome:
        """``push`` under token care: an AuthExpired that escaped the adapter's own calls
        (those not made with ``tokens=``) gets a fresh token and the push runs again,
        resuming from ``ctx.progress``; as often as tokens expire, but never twice in a
        row for a token refused at its first use (``TokenHolder.refresh``)."""
        while True:
            try:
                return self.push(ctx)
            except AuthExpired as exc:
                if ctx.tokens.refresh(rejected=ctx.tokens.current) is None:
                    if ctx.tokens.refreshes:
                        exc.info = (f"{exc.info} Pushwire refreshed the token ({ctx.tokens.refreshes} times in "
                                    "this attempt) and the network refused the fresh one too: the user may have "
                                    "revoked Pushwire's access or removed a permission; reconnect the account.")
                    raise

    def auth_headers(self, token: str) -> dict:
        """How this provider carries an access token (``request(..., tokens=...)``)."""
        return {"Authorization": f"Bearer {token}"}

    def token_refused(self, resp: requests.Response) -> bool:
        """Whether an answer means "this access token is expired or revoked" (refresh and resend)."""
        return resp.status_code == 401

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
        to fix (``provider_misconfigured``: ``app.providers.tokens``). The old
        refresh token is kept when the answer has no new one.
        """
        from app.providers.tokens import refresh_grant  # the one classification of token-endpoint refusals

        return refresh_grant(self, url, refresh_token, display=display, translate=translate,
                             basic_auth=basic_auth, client_in_body=client_in_body, **extra)

    def needs_staging(self, kind: str) -> bool:
        return kind in self.staged_kinds

    def request(self, method: str, path: str, *, publish: bool = False, tokens: TokenHolder | None = None,
                **kwargs) -> requests.Response:
        """One HTTP call to the provider; network faults become TransientError.

        On a ``publish`` step (one that makes something public and is not
        idempotent) a fault means the outcome is unknown, so it raises
        OutcomeUnknown instead: retrying blindly could post twice.

        With ``tokens`` the call carries a fresh access token (``auth_headers``);
        an answer that refuses it (``token_refused``) gets the token refreshed and
        the call sent again, up to ``MAX_REFRESHES_PER_CALL`` times. A refused
        call changed nothing at the provider, so resending it is safe.
        """
        url = path if path.startswith("http") else self.base_url + path
        kwargs.setdefault("timeout", self.timeout)
        if tokens is None:
            return self._send(method, url, publish, kwargs)
        headers = dict(kwargs.pop("headers", None) or {})
        for _ in range(MAX_REFRESHES_PER_CALL + 1):
            token = tokens.get()
            resp = self._send(method, url, publish, {**kwargs, "headers": {**headers, **self.auth_headers(token)}})
            if not self.token_refused(resp) or tokens.refresh(rejected=token) is None:
                return resp
        return resp

    def _send(self, method: str, url: str, publish: bool, kwargs: dict) -> requests.Response:
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
    return bool(ctx.progress.get(id_key) or ctx.progress.get(publish_marker(id_key)))


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
    marker = publish_marker(id_key)
    if ctx.progress.get(marker):
        raise OutcomeUnknown(
            f"A previous attempt to publish on {provider} was interrupted before {provider} answered; "
            "it may or may not have been published, so it was not sent again. Check the account.",
        )
    ctx.progress[marker] = True
    ctx.save_progress(ctx.progress)
    try:
        created = create()
    except (RateLimited, InvalidInput, PermissionDenied, NotFound, AuthExpired):
        ctx.progress.pop(marker, None)
        ctx.save_progress(ctx.progress)
        raise
    except TransientError as exc:  # a 5xx on the publish step: outcome unknown
        raise OutcomeUnknown(f"{provider} answered with an error after the publish request ({exc.info}); "
                             "it may or may not have been published, so it was not sent again.") from exc
    ctx.progress[id_key] = created
    ctx.progress.pop(marker, None)
    if not last:
        ctx.save_progress(ctx.progress)
    return created
