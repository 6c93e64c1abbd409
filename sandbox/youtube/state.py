"""State of the fake YouTube: accounts, tokens, quota, uploads, videos, playlists.

``FakeYouTube`` is what tests hold (``app.extensions["fake"]``). Knobs:
``add_user``, ``add_playlist``, ``add_video``, ``expire_token``, ``revoke_refresh``,
``token_call_limit`` (an access token dies after that many calls, as a long upload
outlives Google's hour-long tokens: 30 by default, None for time only),
``limit_refresh``, ``fail_next_video``, ``reject_next_video``, ``set_video_outcome``,
``expire_session``, ``add_comment``, ``disable_comments``, ``set_quota``,
attributes ``unverified_project``, ``testing_app``, ``processing_seconds``,
``session_lifetime``, ``expired_session_status``, ``faults.add``. Records:
``users``, ``videos``, ``playlists``, ``playlist_items``, ``sections``, ``sessions``
(each with ``ranges`` received and ``sha256``), ``created`` counts, ``calls``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ..common import SandboxState
from . import errors

PACIFIC = ZoneInfo("America/Los_Angeles")
SCOPE_PREFIX = "https://www.googleapis.com/auth/"
DEFAULT_SCOPE = " ".join(SCOPE_PREFIX + s for s in ("youtube", "youtube.upload", "youtube.force-ssl"))
TESTING_REFRESH_LIFETIME = 7 * 86400
#: Calls an access token survives by default: an upload or processing wait longer
#: than that stands for one that outlives the token's hour.
TOKEN_CALL_LIMIT = 30

FAULT_ENDPOINTS = frozenset({
    "token", "insert", "chunk", "query", "videos.list", "videos.delete", "thumbnails.set",
    "playlists.insert", "playlistItems.insert", "channelSections.insert", "commentThreads.list",
})
#: Fault kinds beyond the common ones: Google's 403/400 reasons, and upload tricks.
EXTRA_FAULT_KINDS = (
    "quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded", "uploadLimitExceeded", "forbidden",
    "reset_mid_chunk", "new_location", "session_expired",
)
#: Units per call (reference §5.3-§5.5); videos.insert depends on the quota model.
COSTS = {"videos.list": 1, "commentThreads.list": 1, "videos.delete": 50, "thumbnails.set": 50,
         "playlists.insert": 50, "playlistItems.insert": 50, "channelSections.insert": 50}
LEGACY_INSERT_COST = 1600


def new_id(prefix: str = "", nbytes: int = 8, length: int | None = None) -> str:
    text = secrets.token_urlsafe(nbytes)
    return prefix + (text[:length] if length else text)


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Session:
    """One resumable upload session (reference §5.2)."""

    id: str
    channel_id: str
    metadata: dict
    total: int
    content_type: str
    created_at: float
    committed: int = 0
    ranges: list = field(default_factory=list)  # (first, last, committed_after) per chunk PUT
    hasher: Any = field(default_factory=hashlib.sha256, repr=False)
    head: bytes = b""
    video_id: str | None = None
    expired: bool = False
    moved_to: str | None = None  # a 308 with a new Location retires this id

    @property
    def sha256(self) -> str:
        return self.hasher.hexdigest()

    def commit(self, data: bytes) -> None:
        if self.committed == 0:
            self.head = bytes(data[:64])
        self.hasher.update(data)
        self.committed += len(data)


@dataclass
class Video:
    id: str
    channel_id: str
    snippet: dict
    status: dict
    created_at: float
    size: int
    sha256: str
    outcome: str = "processed"  # processed | failed | rejected
    outcome_reason: str | None = None
    comments_disabled: bool = False
    thumbnail: dict | None = None


class FakeYouTube(SandboxState):
    """All state of one fake YouTube (one Google Cloud project). Mutate under ``lock``."""

    provider = "youtube"
    fault_endpoints = FAULT_ENDPOINTS
    extra_fault_kinds = EXTRA_FAULT_KINDS

    def __init__(self, *, client_id: str = "sandbox-client", client_secret: str = "sandbox-secret",
                 processing_seconds: float = 1.0, quota_model: str = "current"):
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.processing_seconds = processing_seconds
        self.session_lifetime = 7 * 86400.0
        self.expired_session_status = 404  # or 410
        self.unverified_project = False  # forces privacyStatus=private on uploads
        self.testing_app = False  # refresh tokens die 7 days after issue
        self.check_video_signature = True
        self.default_quota_model = quota_model
        self._clear()

    def _clear(self) -> None:
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.sessions: dict[str, Session] = {}
        self.videos: dict[str, Video] = {}
        self.playlists: dict[str, dict] = {}
        self.playlist_items: dict[str, dict] = {}
        self.sections: dict[str, dict] = {}
        self.comments: dict[str, list] = {}
        self.created: Counter = Counter()
        self.deleted: list[str] = []
        self.usage: Counter = Counter()  # (day, "units"|"inserts") -> used
        self.uploads: Counter = Counter()  # (channel, day) -> videos.insert sessions opened
        self._next_outcomes: deque = deque()
        self.token_call_limit: int | None = TOKEN_CALL_LIMIT
        self.set_quota(model=self.default_quota_model, units=10_000, insert_calls=100, uploads_per_channel=100)

    def reset(self) -> None:
        """Forget data, quota settings and usage, knobs, faults and calls."""
        with self.lock:
            super().reset()
            self._clear()

    # ----------------------------------------------------------------- users, tokens

    def add_user(self, user_id: str | None = None, username: str | None = None, *, expires_in: int = 3599,
                 scope: str = DEFAULT_SCOPE, verified: bool = True) -> dict:
        """A Google account with one channel and one manually sorted playlist.

        Returns ``{"user_id","username","channel_id","playlist_id","access_token",
        "refresh_token","expires_in","scope","token_type"}``.
        """
        with self.lock:
            user_id = str(user_id or secrets.randbelow(10**20))
            username = username or f"user{user_id[-6:]}"
            channel_id = new_id("UC", 16, 22)
            self.users[user_id] = {"user_id": user_id, "username": username, "channel_id": channel_id,
                                   "expires_in": expires_in}
            self.channels[channel_id] = {"id": channel_id, "user_id": user_id, "title": username,
                                         "verified": verified}
            playlist_id = self.add_playlist(channel_id, f"{username}'s videos")
            tokens = self._issue(user_id, scope, expires_in, refresh=True)
        return {"user_id": user_id, "username": username, "channel_id": channel_id,
                "playlist_id": playlist_id, **tokens}

    def add_playlist(self, channel_id: str, title: str = "Playlist", *, manual_sort: bool = True,
                     privacy: str = "private") -> str:
        """A playlist owned by ``channel_id``; ``manual_sort=False`` makes positions refused."""
        with self.lock:
            playlist_id = new_id("PL", 24, 32)
            self.playlists[playlist_id] = {
                "id": playlist_id, "channel_id": channel_id, "manual_sort": manual_sort, "items": [],
                "snippet": {"title": title, "description": "", "channelId": channel_id,
                            "publishedAt": rfc3339(self.now())},
                "status": {"privacyStatus": privacy},
            }
        return playlist_id

    def add_video(self, channel_id: str, title: str = "Existing video", size: int = 1024) -> str:
        """A processed video already on ``channel_id`` (for playlist tests); returns its id."""
        with self.lock:
            video_id = new_id("", 8, 11)
            self.videos[video_id] = Video(video_id, channel_id, {"title": title, "channelId": channel_id},
                                          {"privacyStatus": "private"}, self.now() - 3600, size, "0" * 64)
        return video_id

    def _issue(self, user_id: str, scope: str, expires_in: int, refresh: bool) -> dict:
        access = "ya29." + secrets.token_urlsafe(32)
        self.access_tokens[access] = {"user_id": user_id, "scope": scope, "expires_at": self.now() + expires_in,
                                      "calls": 0}
        tokens = {"access_token": access, "expires_in": expires_in, "scope": scope, "token_type": "Bearer"}
        if refresh:
            token = "1//" + secrets.token_urlsafe(32)
            self.refresh_tokens[token] = {"user_id": user_id, "scope": scope, "state": "live",
                                          "issued_at": self.now(), "uses_left": None}
            tokens["refresh_token"] = token
        return tokens

    def expire_token(self, access_token: str) -> None:
        with self.lock:
            self.access_tokens[access_token]["expires_at"] = self.now() - 1

    def revoke_refresh(self, refresh_token: str) -> None:
        with self.lock:
            self.refresh_tokens[refresh_token]["state"] = "revoked"

    def limit_refresh(self, refresh_token: str, uses: int = 1) -> None:
        """The refresh token works ``uses`` more times, then answers ``invalid_grant``."""
        with self.lock:
            self.refresh_tokens[refresh_token]["uses_left"] = uses

    def authenticate(self, authorization: str | None, any_of: tuple[str, ...]) -> dict:
        """The user behind ``Authorization: Bearer``; raises 401 authError / 403 scope."""
        scheme, _, token = (authorization or "").partition(" ")
        with self.lock:
            record = self.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if record is None or self.now() >= record["expires_at"]:
                raise errors.auth_error()
            record["calls"] = record.get("calls", 0) + 1
            if self.token_call_limit is not None and record["calls"] > self.token_call_limit:
                record["expires_at"] = self.now() - 1  # it outlived its hour
                raise errors.auth_error()
            if not set(SCOPE_PREFIX + s for s in any_of) & set(record["scope"].split()):
                raise errors.insufficient_scope()
            return self.users[record["user_id"]]

    def refresh(self, refresh_token: str) -> dict:
        """The refresh grant: a new access token, no new refresh token (reference §5.1)."""
        with self.lock:
            record = self.refresh_tokens.get(refresh_token)
            testing_dead = self.testing_app and record and self.now() > record["issued_at"] + TESTING_REFRESH_LIFETIME
            if record is None or record["state"] != "live" or testing_dead or record["uses_left"] == 0:
                raise LookupError("Token has been expired or revoked.")
            if record["uses_left"] is not None:
                record["uses_left"] -= 1
            expires_in = self.users[record["user_id"]]["expires_in"]
            return self._issue(record["user_id"], record["scope"], expires_in, refresh=False)

    # ----------------------------------------------------------------- quota

    def set_quota(self, *, model: str | None = None, units: int | None = None, insert_calls: int | None = None,
                  uploads_per_channel: int | None = None) -> None:
        """Quota model ``current`` (units + a separate videos.insert call bucket) or
        ``legacy`` (one pool, videos.insert = 1600 units); daily limits per project,
        and the per-channel daily upload cap (uploadLimitExceeded)."""
        if model is not None and model not in ("current", "legacy"):
            raise ValueError("model must be current or legacy")
        with self.lock:
            self.quota_model = model or getattr(self, "quota_model", "current")
            self.quota_units = units if units is not None else self.quota_units
            self.quota_insert_calls = insert_calls if insert_calls is not None else self.quota_insert_calls
            self.uploads_per_channel = (uploads_per_channel if uploads_per_channel is not None
                                        else self.uploads_per_channel)

    def day(self) -> str:
        """Quota day: the date in Pacific time (resets at midnight Pacific)."""
        return dt.datetime.fromtimestamp(self.now(), PACIFIC).date().isoformat()

    def charge(self, endpoint: str) -> None:
        """Count one call against the quota; 403 quotaExceeded when it is used up."""
        day = self.day()
        with self.lock:
            if endpoint == "insert" and self.quota_model == "current":
                bucket, cost, limit = "inserts", 1, self.quota_insert_calls
            else:
                bucket, limit = "units", self.quota_units
                cost = LEGACY_INSERT_COST if endpoint == "insert" else COSTS.get(endpoint, 1)
            if self.usage[(day, bucket)] + cost > limit:
                raise errors.quota_exceeded()
            self.usage[(day, bucket)] += cost

    def count_upload(self, channel_id: str) -> None:
        """The channel's rolling daily upload cap; 400 uploadLimitExceeded beyond it."""
        with self.lock:
            key = (channel_id, self.day())
            if self.uploads[key] >= self.uploads_per_channel:
                raise errors.upload_limit()
            self.uploads[key] += 1

    # ----------------------------------------------------------------- processing knobs

    def fail_next_video(self, reason: str = "codec") -> None:
        """The next completed upload ends ``uploadStatus=failed`` with ``failureReason``."""
        with self.lock:
            self._next_outcomes.append(("failed", reason))

    def reject_next_video(self, reason: str = "duplicate") -> None:
        """The next completed upload ends ``uploadStatus=rejected`` with ``rejectionReason``."""
        with self.lock:
            self._next_outcomes.append(("rejected", reason))

    def take_next_outcome(self) -> tuple[str, str | None]:
        with self.lock:
            return self._next_outcomes.popleft() if self._next_outcomes else ("processed", None)

    def set_video_outcome(self, video_id: str, outcome: str, reason: str | None = None) -> None:
        if outcome not in ("processed", "failed", "rejected"):
            raise ValueError("outcome must be processed, failed or rejected")
        with self.lock:
            video = self.videos[video_id]
            video.outcome, video.outcome_reason = outcome, reason

    def expire_session(self, upload_id: str) -> None:
        with self.lock:
            self.sessions[upload_id].expired = True

    # ----------------------------------------------------------------- comments

    def add_comment(self, video_id: str, author_name: str, text: str) -> str:
        """A top-level comment on ``video_id`` by someone else; returns the thread id.

        Timestamps have whole seconds, like YouTube's; two comments in the same
        second get consecutive seconds so ``publishedAt`` order is strict.
        """
        with self.lock:
            threads = self.comments.setdefault(video_id, [])
            at = float(int(self.now()))
            if threads and at <= threads[-1]["at"]:
                at = threads[-1]["at"] + 1
            thread_id = new_id("Ug", 18, 24)
            threads.append({"id": thread_id, "author": author_name, "text": text, "at": at,
                            "author_channel": new_id("UC", 16, 22)})
            return thread_id

    def disable_comments(self, video_id: str) -> None:
        with self.lock:
            self.videos[video_id].comments_disabled = True

    # ----------------------------------------------------------------- records

    def session_for_video(self, video_id: str) -> Session | None:
        with self.lock:
            return next((s for s in self.sessions.values() if s.video_id == video_id), None)

    def received_bytes(self, upload_id: str) -> int:
        """Bytes that arrived in chunk PUTs of a session (re-sent ones count twice)."""
        with self.lock:
            return sum(last - first + 1 for first, last, _ in self.sessions[upload_id].ranges)
