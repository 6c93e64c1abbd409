"""State of the fake X: users, tokens, media, tweets, rate windows and test knobs.

``FakeX`` is what tests hold (``app.extensions["fake"]``). Its knobs:
``add_user``, ``add_app_token``, ``expire_token``, ``revoke_refresh``,
``fail_next_media``, ``stick_next_media``, ``set_media_outcome``, ``expire_media``,
``set_rate_limit``, ``advance`` / ``clock``, ``faults.add``; its records: ``users``,
``media``, ``tweets``, ``deleted_tweets``, ``append_calls(media_id)``, ``calls``.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
from collections import deque
from dataclasses import dataclass

from ..common import SandboxState
from ..knobs import PROCESSING_OUTCOMES, MediaOutcomes, TokenKnobs  # noqa: F401 (re-export)
from . import problems

DEFAULT_SCOPE = "tweet.read tweet.write users.read media.write offline.access"
WINDOW = 15 * 60

#: Rate buckets -> requests per 15 min per user (reference §1.4). ``lookup`` (GET
#: /2/tweets/:id) is not in the reference; 900 is X's documented user limit.
DEFAULT_RATE_LIMITS = {
    "tweets": 100,
    "delete": 50,
    "lookup": 900,
    "upload": 500,  # POST /2/media/upload: one-shot image and command style
    "status": 1000,  # GET /2/media/upload
    "initialize": 1875,
    "append": 1875,
    "finalize": 1875,
    "metadata": 500,  # POST /2/media/metadata
}

#: 24-hour limits on top of the 15-minute windows: bucket -> (per user, per app).
#: X sends them as ``x-user-limit-24hour-*`` / ``x-app-limit-24hour-*``; a 429 for
#: one of them arrives while ``x-rate-limit-remaining`` is still high.
DAY = 86400
DEFAULT_DAILY_LIMITS = {"tweets": (10_000, 10_000)}

FAULT_ENDPOINTS = frozenset(
    {"token", "initialize", "append", "finalize", "status", "image", "tweets", "delete", "lookup", "metadata", "me"}
)


@dataclass
class AccessToken:
    user_id: str | None  # None for an app-only token
    scope: str
    expires_at: float


@dataclass
class RefreshToken:
    user_id: str
    scope: str
    expires_in: int
    state: str = "live"  # live | spent | revoked


@dataclass
class RateInfo:
    limit: int
    remaining: int
    reset: int
    allowed: bool

    def headers(self) -> dict:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(self.reset),
        }


class FakeX(TokenKnobs, MediaOutcomes, SandboxState):
    """All state of one fake X. Thread-safe: mutate only under ``self.lock``.

    ``expire_token`` and ``revoke_refresh`` come from ``TokenKnobs``; the media knobs
    (``fail_next_media``, ``stick_next_media``, ``set_media_outcome``) come
    from ``MediaOutcomes``; they apply to the next video/GIF to finalize.
    """

    provider = "x"
    default_failure_message = "Unsupported video format"
    fault_endpoints = FAULT_ENDPOINTS
    extra_fault_kinds = ("usage_capped",)

    def __init__(
        self,
        *,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",
        processing_polls: int = 2,
        check_after_secs: int = 1,
    ):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.processing_polls = processing_polls
        self.check_after_secs = check_after_secs
        #: A video whose first bytes are not an MP4/MOV ``ftyp`` box fails processing,
        #: like a real upload of garbage. Set False to let any bytes succeed.
        self.check_video_signature = True
        #: Real X answers a missing tweet lookup with 200 + ``errors[]``; 404 is the
        #: default here because it is easier to assert. Set 200 to mimic X exactly.
        self.missing_tweet_status = 404
        self._ids = itertools.count(1)
        self._clear()

    def _clear(self) -> None:
        self.users: dict[str, dict] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.media: dict = {}  # media id -> media.MediaItem
        self.tweets: list[dict] = []
        self.deleted_tweets: list[dict] = []
        self.rate_limits = {name: (limit, WINDOW) for name, limit in DEFAULT_RATE_LIMITS.items()}
        self.daily_limits = dict(DEFAULT_DAILY_LIMITS)
        self._daily_windows: dict[tuple[str, str], list] = {}
        self._rate_windows: dict[tuple[str, str], list] = {}
        self._next_outcomes: deque = deque()

    def reset(self) -> None:
        """Forget everything: users, tokens, media, tweets, limits, knobs, faults, calls."""
        with self.lock:
            super().reset()
            self._clear()

    # ----------------------------------------------------------------- ids

    def new_id(self) -> str:
        """A fresh numeric id of 19 digits, like an X snowflake."""
        return str(1_850_000_000_000_000_000 + next(self._ids) * 4096 + secrets.randbelow(4096))

    # ----------------------------------------------------------------- users, tokens

    def add_user(
        self,
        user_id: str | None = None,
        username: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        expires_in: int = 7200,
        scope: str = DEFAULT_SCOPE,
    ) -> dict:
        """Create (or update) a user and issue it a token pair.

        Returns ``{"user_id","username","access_token","refresh_token","expires_in",
        "scope","token_type"}``; tokens are generated when not given.
        """
        with self.lock:
            user_id = str(user_id) if user_id is not None else self.new_id()
            username = username or f"user{user_id[-6:]}"
            self.users[user_id] = {"user_id": user_id, "username": username, "expires_in": int(expires_in)}
            tokens = self._issue(user_id, scope, int(expires_in), access_token, refresh_token)
        return {"user_id": user_id, "username": username, **tokens}

    def _issue(self, user_id, scope, expires_in, access_token=None, refresh_token=None) -> dict:
        access_token = access_token or secrets.token_urlsafe(32)
        self.access_tokens[access_token] = AccessToken(user_id, scope, self.now() + expires_in)
        tokens = {"token_type": "bearer", "expires_in": expires_in, "access_token": access_token, "scope": scope}
        if "offline.access" in scope.split():
            refresh_token = refresh_token or secrets.token_urlsafe(32)
            self.refresh_tokens[refresh_token] = RefreshToken(user_id, scope, expires_in)
            tokens["refresh_token"] = refresh_token
        return tokens

    def add_app_token(self, token: str | None = None) -> str:
        """An app-only Bearer token: valid, but refused on media and posting (403)."""
        token = token or secrets.token_urlsafe(32)
        with self.lock:
            self.access_tokens[token] = AccessToken(None, "", float("inf"))
        return token

    def authenticate(self, authorization: str | None, scopes: frozenset[str]) -> str:
        """Return the user id behind an ``Authorization: Bearer`` header or raise.

        Only user tokens this fake issued pass; OAuth 1.0a headers are not emulated and
        get 401 like any unknown credential.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise problems.unauthorized()
        with self.lock:
            record = self.access_tokens.get(token.strip())
            if record is None or self.now() >= record.expires_at:
                raise problems.unauthorized()
            if record.user_id is None:
                raise problems.unsupported_authentication()
            missing = sorted(scopes - set(record.scope.split()))
        if missing:
            # Shape unconfirmed: X answers a scope gap with a 403; detail is ours.
            raise problems.forbidden(f"Missing required OAuth 2.0 scopes: {', '.join(missing)}.")
        return record.user_id

    def refresh(self, refresh_token: str) -> dict:
        """Spend ``refresh_token`` and return a new token response (reference §1.1)."""
        with self.lock:
            record = self.refresh_tokens.get(refresh_token)
            if record is None or record.state != "live":
                raise problems.invalid_token()
            # Spent at once: the reference says to treat the old one as dead.
            record.state = "spent"
            expires_in = self.users.get(record.user_id, {}).get("expires_in", record.expires_in)
            return self._issue(record.user_id, record.scope, expires_in)

    def check_client(self, authorization: str | None, form_client_id: str | None) -> None:
        """Accept Basic client credentials, or a public client's ``client_id``."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                pair = ""
            if pair == f"{self.client_id}:{self.client_secret}":
                return
        elif not authorization and form_client_id == self.client_id:
            return
        raise problems.oauth_error(401, "unauthorized_client", "Missing valid authorization header")

    # ----------------------------------------------------------------- rate limits

    def set_rate_limit(self, bucket: str, limit: int, window: int = WINDOW) -> None:
        """Change a bucket's limit (e.g. ``set_rate_limit("tweets", 2)``) and restart it."""
        if bucket not in self.rate_limits:
            raise KeyError(bucket)
        with self.lock:
            self.rate_limits[bucket] = (int(limit), int(window))
            for key in [k for k in self._rate_windows if k[1] == bucket]:
                del self._rate_windows[key]

    def take_rate(self, user_id: str, bucket: str) -> RateInfo:
        """Count one request of ``user_id`` against ``bucket``; ``allowed`` False at 0."""
        limit, window = self.rate_limits[bucket]
        now = self.now()
        with self.lock:
            slot = self._rate_windows.setdefault((user_id, bucket), [now, 0])
            if now >= slot[0] + window:
                slot[:] = [now, 0]
            reset = int(slot[0] + window) + 1  # epoch seconds, strictly in the future
            if slot[1] >= limit:
                return RateInfo(limit, 0, reset, False)
            slot[1] += 1
            return RateInfo(limit, limit - slot[1], reset, True)

    def set_daily_limit(self, bucket: str, user: int | None = None, app: int | None = None) -> None:
        """24-hour limits of ``bucket`` per user and per app (None: unlimited); restarts them."""
        with self.lock:
            self.daily_limits[bucket] = (user, app)
            self._daily_windows = {k: v for k, v in self._daily_windows.items() if k[1] != bucket}

    def take_daily(self, user_id: str, bucket: str) -> tuple[dict, bool]:
        """Count one call against the 24-hour limits: ``(headers, allowed)``."""
        limits = self.daily_limits.get(bucket)
        if not limits:
            return {}, True
        now, headers, allowed = self.now(), {}, True
        with self.lock:
            slots = []
            for scope, owner, limit in (("user", user_id, limits[0]), ("app", "", limits[1])):
                if limit is None:
                    continue
                slot = self._daily_windows.setdefault((owner, bucket), [now, 0])
                if now >= slot[0] + DAY:
                    slot[:] = [now, 0]
                allowed = allowed and slot[1] < limit
                slots.append((scope, slot, limit))
            for scope, slot, limit in slots:
                if allowed:
                    slot[1] += 1
                headers.update({f"x-{scope}-limit-24hour-limit": str(limit),
                                f"x-{scope}-limit-24hour-remaining": str(max(0, limit - slot[1])),
                                f"x-{scope}-limit-24hour-reset": str(int(slot[0] + DAY) + 1)})
        return headers, allowed

    def set_subscription(self, user_id: str, subscription_type: str | None) -> None:
        """The user's X subscription (``Premium``, ``PremiumPlus`` or None): it sets
        the longest video they may post (20 min, or 125 min with Premium)."""
        with self.lock:
            self.users[user_id]["subscription_type"] = subscription_type

    def set_video_duration(self, media_id: str, seconds: float) -> None:
        """Knob: the length of an uploaded video, which ``POST /2/tweets`` checks."""
        with self.lock:
            self.media[media_id].duration_secs = float(seconds)

    def peek_rate(self, user_id: str, bucket: str) -> RateInfo:
        """The bucket's current state for ``user_id`` without counting a request."""
        limit, window = self.rate_limits[bucket]
        now = self.now()
        with self.lock:
            slot = self._rate_windows.get((user_id, bucket))
        if slot is None or now >= slot[0] + window:
            return RateInfo(limit, limit, int(now + window) + 1, True)
        return RateInfo(limit, max(0, limit - slot[1]), int(slot[0] + window) + 1, slot[1] < limit)

    # ----------------------------------------------------------------- media knobs

    def expire_media(self, media_id: str) -> None:
        """Make ``media_id`` expired now (append, finalize, status and tweets refuse it)."""
        with self.lock:
            self.media[media_id].expires_at = self.now() - 1

    def append_calls(self, media_id: str) -> int:
        """How many APPEND requests reached ``media_id`` (accepted or refused)."""
        with self.lock:
            item = self.media.get(media_id)
            return item.append_calls if item else 0
