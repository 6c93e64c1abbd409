"""State of the fake Pinterest: users, tokens, boards, media, pins, counters and knobs.

``FakePinterest`` is what tests hold (``app.extensions["fake"]``). Knobs:
``add_user``, ``add_board``, ``expire_token``, ``revoke_refresh``, ``expire_refresh``,
``fail_next_media``, ``stick_next_media``, ``set_media_outcome``, ``expire_upload``,
``set_trial``, ``legacy_app``, ``faults.add``. Records: ``users``, ``boards``, ``media``
(each with its ``uploads``: bytes, sha256 and byte range of every accepted file),
``pins``, ``deleted_pins``, ``created`` (creation counts), ``calls``.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field

from ..common import SandboxState
from ..knobs import PROCESSING_OUTCOMES, MediaOutcomes, TokenKnobs  # noqa: F401 (re-export)
from . import errors

DEFAULT_SCOPE = "boards:read boards:write pins:read pins:write user_accounts:read"
ACCESS_TTL = 30 * 24 * 3600
REFRESH_TTL = 60 * 24 * 3600
DAY = 24 * 3600

FAULT_ENDPOINTS = frozenset(
    {"token", "boards", "pins", "pin_get", "pin_delete", "media_create", "media_get", "upload"}
)
#: ``quota``: the trial daily limit answer (429); ``expired_policy``: the bucket's 403.
EXTRA_FAULT_KINDS = ("quota", "expired_policy")


@dataclass
class Token:
    user_id: str
    scope: str
    expires_at: float
    state: str = "live"  # refresh tokens: live | spent | revoked


@dataclass
class Media:
    """One registered video upload (``POST /v5/media``)."""

    id: str
    owner: str
    key: str
    params: dict
    policy_expires_at: float
    status: str = "registered"  # registered | processing | succeeded | failed
    outcome: str = "succeeded"  # how processing will end: succeeded | failed | stuck
    failure_message: str = "The video could not be processed."
    polls: int = 0
    uploads: list = field(default_factory=list)  # {"size", "sha256", "range", "head"}

    def as_dict(self) -> dict:
        return {
            "media_id": self.id, "owner": self.owner, "status": self.status, "key": self.key,
            "uploads": list(self.uploads),
            "size": self.uploads[-1]["size"] if self.uploads else None,
            "sha256": self.uploads[-1]["sha256"] if self.uploads else None,
        }


class FakePinterest(TokenKnobs, MediaOutcomes, SandboxState):
    """All state of one fake Pinterest. Thread-safe: mutate only under ``self.lock``.

    ``expire_token`` and ``revoke_refresh`` come from ``TokenKnobs``; the media knobs
    (``fail_next_media``, ``stick_next_media``, ``set_media_outcome``) come
    from ``MediaOutcomes``; they apply to the next media to be uploaded.
    """

    provider = "pinterest"
    fault_endpoints = FAULT_ENDPOINTS
    extra_fault_kinds = EXTRA_FAULT_KINDS

    def __init__(self, *, client_id: str = "sandbox-client", client_secret: str = "sandbox-secret",
                 processing_polls: int = 1, upload_ttl: int = 3600):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        #: Status polls a processing video answers ``processing`` before ``succeeded``.
        self.processing_polls = processing_polls
        #: Seconds the upload policy of a registered media stays valid.
        self.upload_ttl = upload_ttl
        #: An app created before 2025-09-25: a refresh without continuous_refresh=true fails.
        self.legacy_app = True
        #: A video whose bytes do not start like an MP4/MOV fails processing.
        self.check_video_signature = True
        self._ids = itertools.count(1)
        self._clear()

    def _clear(self) -> None:
        self.users: dict[str, dict] = {}
        self.access_tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.boards: dict[str, dict] = {}
        self.media: dict[str, Media] = {}
        self.pins: dict[str, dict] = {}
        self.deleted_pins: list[dict] = []
        self.created: Counter = Counter()
        self.trial_daily_limit: int | None = None  # None: Standard access
        #: This fake answers as the API sandbox host (api-sandbox.pinterest.com), where
        #: Trial apps may create Pins; on the production host they get 403 code 29.
        self.sandbox_host = False
        self.per_second_limit = 100
        self._windows: dict[tuple, list] = {}
        self._next_outcomes: deque = deque()

    def reset(self) -> None:
        """Forget everything: users, tokens, boards, media, pins, knobs, faults, calls."""
        with self.lock:
            super().reset()
            self._clear()
            self.legacy_app = True

    def new_id(self, digits: int = 18) -> str:
        """A fresh numeric id string (Pinterest ids are numeric strings)."""
        return str(10 ** (digits - 1) + next(self._ids) * 7919 + secrets.randbelow(7919))

    # ----------------------------------------------------------------- users, boards

    def add_user(self, user_id: str | None = None, username: str | None = None, *,
                 access_token: str | None = None, refresh_token: str | None = None,
                 expires_in: int = ACCESS_TTL, scope: str = DEFAULT_SCOPE) -> dict:
        """Create a user with one board and a token pair.

        Returns ``{"user_id","username","board_id","access_token","refresh_token",
        "expires_in","refresh_token_expires_in","scope","token_type"}``.
        """
        with self.lock:
            user_id = str(user_id) if user_id is not None else self.new_id()
            username = username or f"pinner{user_id[-6:]}"
            self.users[user_id] = {"user_id": user_id, "username": username, "expires_in": int(expires_in)}
            board_id = self.add_board(user_id, name="Pushwire")
            tokens = self._issue(user_id, scope, int(expires_in), access_token, refresh_token)
        return {"user_id": user_id, "username": username, "board_id": board_id, **tokens}

    def add_board(self, user_id: str, board_id: str | None = None, name: str = "Board",
                  privacy: str = "PUBLIC") -> str:
        """Give ``user_id`` a board; returns its (numeric) id."""
        with self.lock:
            board_id = str(board_id) if board_id is not None else self.new_id()
            self.boards[board_id] = {"id": board_id, "owner": str(user_id), "name": name, "privacy": privacy}
            return board_id

    def _issue(self, user_id, scope, expires_in, access_token=None, refresh_token=None) -> dict:
        access_token = access_token or "pina_" + secrets.token_urlsafe(32)
        refresh_token = refresh_token or "pinr_" + secrets.token_urlsafe(32)
        now = self.now()
        self.access_tokens[access_token] = Token(user_id, scope, now + expires_in)
        self.refresh_tokens[refresh_token] = Token(user_id, scope, now + REFRESH_TTL)
        return {
            "access_token": access_token, "token_type": "bearer", "expires_in": expires_in, "scope": scope,
            "refresh_token": refresh_token, "refresh_token_expires_in": REFRESH_TTL,
            "refresh_token_expires_at": int(now + REFRESH_TTL),
        }

    # ----------------------------------------------------------------- tokens

    def expire_refresh(self, refresh_token: str) -> None:
        with self.lock:
            self.refresh_tokens[refresh_token].expires_at = self.now() - 1

    def authenticate(self, authorization: str | None, scopes: frozenset[str]) -> str:
        """The user behind ``Authorization: Bearer``; 401 unknown/expired, 403 scope gap."""
        scheme, _, token = (authorization or "").partition(" ")
        with self.lock:
            record = self.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if record is None or self.now() >= record.expires_at:
                raise errors.unauthorized()
            missing = sorted(scopes - set(record.scope.split()))
        if missing:
            raise errors.forbidden(f"Not authorized to access this resource; missing scopes: {', '.join(missing)}.")
        return record.user_id

    def check_client(self, authorization: str | None) -> None:
        """Basic client authentication on the token endpoint (401 otherwise)."""
        scheme, _, value = (authorization or "").partition(" ")
        try:
            pair = base64.b64decode(value.strip(), validate=True).decode() if scheme.lower() == "basic" else ""
        except (binascii.Error, UnicodeDecodeError):
            pair = ""
        if pair != f"{self.client_id}:{self.client_secret}":
            raise errors.PinterestError(401, 2, "Authentication failed: invalid client credentials.")

    def refresh(self, refresh_token: str, continuous: bool) -> dict:
        """Spend ``refresh_token``; a new access and (continuous) refresh token."""
        with self.lock:
            record = self.refresh_tokens.get(refresh_token)
            if record is None or record.state != "live" or self.now() >= record.expires_at:
                raise errors.invalid("Invalid refresh token.")
            if self.legacy_app and not continuous:
                raise errors.invalid(
                    "Legacy refresh tokens are no longer supported; send continuous_refresh=true.")
            record.state = "spent"
            expires_in = self.users.get(record.user_id, {}).get("expires_in", ACCESS_TTL)
            return self._issue(record.user_id, record.scope, expires_in)

    # ----------------------------------------------------------------- rate limits

    def set_trial(self, daily_limit: int | None = 1000, sandbox_host: bool | None = None) -> None:
        """Trial access (daily counter, creator-only pins); None for Standard access.
        A Trial app may create Pins only on the sandbox host (``sandbox_host``)."""
        with self.lock:
            self.trial_daily_limit = daily_limit
            if sandbox_host is not None:
                self.sandbox_host = sandbox_host
            self._windows.clear()

    def take_rate(self, user_id: str) -> None:
        """Count one API call; 429 over the trial daily or the per-second limit."""
        now = self.now()
        with self.lock:
            if self.trial_daily_limit is not None:
                limit, window, key = self.trial_daily_limit, DAY, (user_id, "day")
            else:
                limit, window, key = self.per_second_limit, 1, (user_id, "second")
            slot = self._windows.setdefault(key, [now, 0])
            if now >= slot[0] + window:
                slot[:] = [now, 0]
            slot[1] += 1
            over = slot[1] > limit
        if over and window == DAY:
            raise errors.rate_limited("You have exceeded your daily trial limit of requests. Try again tomorrow.")
        if over:
            raise errors.rate_limited()

    # ----------------------------------------------------------------- media knobs

    def expire_upload(self, media_id: str) -> None:
        """The media's upload policy is expired now (the bucket answers 403)."""
        with self.lock:
            self.media[media_id].policy_expires_at = self.now() - 1

    def uploads(self, media_id: str | None = None) -> list[dict]:
        """Every accepted file upload (of one media, or all), oldest first."""
        with self.lock:
            items = [self.media[media_id]] if media_id else list(self.media.values())
            return [{"media_id": m.id, **u} for m in items for u in m.uploads]
