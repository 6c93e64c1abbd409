"""State of the fake Facebook Graph API: users, Pages, groups, tokens, content, knobs.

``FakeFacebook`` is what tests hold (``app.extensions["fake"]``). Knobs:
``add_user`` (also creates one Page the user administers), ``add_page``,
``add_group``, ``legacy_groups``, ``expire_token``, ``kill_token``, ``set_tasks``,
``fail_next_video``, ``add_comment``, ``set_usage_limits``, ``faults.add``.
Records: ``posts``, ``photos``, ``videos`` (with every byte range received),
``deleted``, ``creations()``, ``calls``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..common import MiB, SandboxState
from . import errors

LONG_LIVED = 5184000  # about 60 days, what fb_exchange_token issues
ALL_TASKS = ("ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE")
FAULT_ENDPOINTS = frozenset({
    "token", "me", "accounts", "feed", "photos", "video_start", "video_transfer", "video_finish",
    "video_url", "status", "node", "comments", "delete",
})
EXTRA_FAULT_KINDS = ("1363030", "1363019", "token_dead", "permission", "duplicate", "blocked",
                     "processing_failed")


@dataclass
class Token:
    kind: str  # "user" | "page"
    user_id: str
    page_id: str | None = None
    expires_at: float = float("inf")
    state: str = "live"  # live | dead (password changed, app removed)


@dataclass
class Video:
    """One video id; bytes are hashed as they arrive, never kept."""

    id: str
    target: str
    owner: str
    file_size: int = 0
    session_id: str | None = None
    source: str = "upload_phase"  # or "file_url"
    committed: int = 0
    window_end: int = 0
    ranges: list = field(default_factory=list)  # [start, end, sha256] per accepted transfer
    transfer_calls: int = 0
    finished: bool = False
    title: str | None = None
    description: str | None = None
    published: bool = True
    no_story: bool = False
    status: str = "uploading"  # uploading | processing | ready | error
    polls: int = 0
    fail_message: str | None = None
    created_time: float = 0.0
    post_id: str | None = None
    hasher: Any = field(default_factory=hashlib.sha256, repr=False)

    def as_dict(self) -> dict:
        return {
            "id": self.id, "target": self.target, "owner": self.owner, "file_size": self.file_size,
            "source": self.source, "received_bytes": self.committed, "ranges": [list(r) for r in self.ranges],
            "transfer_calls": self.transfer_calls, "finished": self.finished, "title": self.title,
            "description": self.description, "published": self.published, "no_story": self.no_story,
            "status": self.status, "sha256": self.hasher.hexdigest() if self.finished else None,
            "post_id": self.post_id,
        }

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]


def _percent(used: int, limit: int) -> int:
    """Usage as Facebook reports it: percent of the budget, 100 when used up."""
    return 100 if limit <= 0 else min(100, used * 100 // limit)


class FakeFacebook(SandboxState):
    """All state of one fake Graph API. Mutate only under ``self.lock``."""

    provider = "facebook"
    fault_endpoints = FAULT_ENDPOINTS
    extra_fault_kinds = EXTRA_FAULT_KINDS

    def __init__(self, *, app_id: str = "sandbox-app", client_id: str = "sandbox-client",
                 client_secret: str = "sandbox-secret", processing_polls: int = 1,
                 windows: tuple[int, ...] = (1 * MiB, 3 * MiB, 2 * MiB)):
        super().__init__()
        self.app_id, self.client_id, self.client_secret = app_id, client_id, client_secret
        self.processing_polls = processing_polls
        #: Server-chosen transfer windows, cycled per upload session (reference: vary them).
        self.windows = tuple(windows)
        #: When True, groups accept posts from members (the pre-2024 API); default False.
        self.legacy_groups = False
        #: When True, the deprecated graph-video.* host is served too; default False.
        self.legacy_video_host = False
        #: Polls that report ``upload_complete`` after finish, before ``processing``.
        self.upload_complete_polls = 1
        self._ids = itertools.count(1)
        self._clear()

    def _clear(self) -> None:
        self.users: dict[str, dict] = {}
        self.tokens: dict[str, Token] = {}
        self.pages: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.posts: dict[str, dict] = {}
        self.photos: dict[str, dict] = {}
        self.videos: dict[str, Video] = {}
        self.sessions: dict[str, str] = {}  # upload_session_id -> video id
        self.comments: dict[str, list[dict]] = {}
        self.deleted: list[str] = []
        self.legacy_groups = False
        self.legacy_video_host = False
        self.upload_complete_polls = 1
        self.app_call_limit, self.page_call_limit = 100_000, 100_000
        self._app_calls: deque = deque()
        self._page_calls: dict[str, deque] = {}
        self._next_video_failures: deque = deque()
        self._window_cycle = itertools.cycle(self.windows)

    def reset(self) -> None:
        """Forget everything: users, Pages, tokens, content, knobs, faults, calls."""
        with self.lock:
            super().reset()
            self._clear()

    def new_id(self, digits: int = 16) -> str:
        """A fresh numeric id, like Facebook's object ids."""
        return str(10 ** (digits - 1) + next(self._ids) * 7919 + secrets.randbelow(7919))

    def iso(self, ts: float | None = None) -> str:
        """A Graph API ``created_time`` (``2024-01-01T12:00:00+0000``)."""
        moment = dt.datetime.fromtimestamp(self.now() if ts is None else ts, dt.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")

    # ----------------------------------------------------------------- accounts

    def add_user(self, user_id: str | None = None, username: str | None = None, *,
                 access_token: str | None = None, expires_in: int = LONG_LIVED, page: bool = True) -> dict:
        """Create a user with a long-lived user token and (by default) one Page it manages.

        Returns ``{"user_id","username","access_token","refresh_token": None,"expires_in",
        "token_type","page_id","page_access_token"}``. Facebook has no refresh token.
        """
        with self.lock:
            user_id = str(user_id) if user_id is not None else self.new_id(15)
            username = username or f"user{user_id[-6:]}"
            self.users[user_id] = {"id": user_id, "name": username,
                                   "picture": {"data": {"url": f"https://platform-lookaside.fbsbx.com/platform/"
                                                               f"profilepic/?asid={user_id}&ext=1&hash=sandbox",
                                                        "is_silhouette": False, "height": 200, "width": 200}}}
            token = access_token or "EAAB" + secrets.token_urlsafe(40)
            self.tokens[token] = Token("user", user_id, expires_at=self.now() + int(expires_in))
            result = {"user_id": user_id, "username": username, "access_token": token, "refresh_token": None,
                      "expires_in": int(expires_in), "token_type": "bearer"}
            if page:
                page_id = self.add_page(f"{username}'s Page", admins={user_id: ALL_TASKS})
                result["page_id"] = page_id
                result["page_access_token"] = self.pages[page_id]["tokens"][user_id]
        return result

    def add_page(self, name: str | None = None, *, page_id: str | None = None,
                 admins: dict[str, tuple] | None = None) -> str:
        """A Page; ``admins`` maps user id -> tasks (e.g. ``("CREATE_CONTENT", "MODERATE")``)."""
        with self.lock:
            page_id = page_id or self.new_id(15)
            self.pages[page_id] = {"id": page_id, "name": name or f"Page {page_id}", "category": "Community",
                                   "admins": {}, "tokens": {}}
            for user_id, tasks in (admins or {}).items():
                self.set_tasks(page_id, user_id, tasks)
        return page_id

    def set_tasks(self, page_id: str, user_id: str, tasks) -> None:
        """Give ``user_id`` a role with ``tasks`` on the Page (empty: remove the role)."""
        with self.lock:
            page = self.pages[page_id]
            if not tasks:
                page["admins"].pop(user_id, None)
                return
            page["admins"][user_id] = list(tasks)
            if user_id not in page["tokens"]:
                token = "EAAP" + secrets.token_urlsafe(40)
                page["tokens"][user_id] = token
                self.tokens[token] = Token("page", user_id, page_id=page_id)

    def add_group(self, name: str | None = None, *, group_id: str | None = None, members=()) -> str:
        """A group; it accepts posts from ``members`` only when ``legacy_groups`` is True."""
        with self.lock:
            group_id = group_id or self.new_id(15)
            self.groups[group_id] = {"id": group_id, "name": name or f"Group {group_id}", "members": set(members)}
        return group_id

    def expire_token(self, token: str) -> None:
        """The token answers code 190 / subcode 463 from now on."""
        with self.lock:
            self.tokens[token].expires_at = self.now() - 1

    def kill_token(self, token: str) -> None:
        """The token answers code 190 / subcode 460 (password changed) from now on."""
        with self.lock:
            self.tokens[token].state = "dead"

    def authenticate(self, token: str | None) -> Token:
        """The live token record, or a GraphError (104 missing, 190 invalid/expired/dead)."""
        if not token:
            raise errors.no_token()
        with self.lock:
            record = self.tokens.get(token)
            if record is None:
                raise errors.invalid_token()
            if record.state == "dead":
                raise errors.dead_token()
            if self.now() >= record.expires_at:
                raise errors.expired_token()
            if record.kind == "page" and record.user_id not in self.pages[record.page_id]["admins"]:
                raise errors.dead_token()  # the role was removed: the Page token dies with it
        return record

    # ----------------------------------------------------------------- usage / throttle

    def set_usage_limits(self, app_calls_per_hour: int | None = None, page_calls_per_day: int | None = None) -> None:
        """Lower the call budgets so usage headers reach 100 (then calls are throttled)."""
        with self.lock:
            if app_calls_per_hour is not None:
                self.app_call_limit = int(app_calls_per_hour)
            if page_calls_per_day is not None:
                self.page_call_limit = int(page_calls_per_day)

    def count_call(self, page_id: str | None) -> tuple[int, int | None]:
        """Count one call; return (app usage %, Page usage % or None) before this call."""
        now = self.now()
        with self.lock:
            app = self._app_calls
            while app and app[0] <= now - 3600:
                app.popleft()
            app_pct = _percent(len(app), self.app_call_limit)
            page_pct = None
            if page_id is not None:
                calls = self._page_calls.setdefault(page_id, deque())
                while calls and calls[0] <= now - 86400:
                    calls.popleft()
                page_pct = _percent(len(calls), self.page_call_limit)
                if page_pct < 100 and app_pct < 100:
                    calls.append(now)
            if app_pct < 100 and (page_pct is None or page_pct < 100):
                app.append(now)
        return app_pct, page_pct

    # ----------------------------------------------------------------- videos

    def fail_next_video(self, message: str = "The video could not be processed.") -> None:
        """The next video to finish ends with ``video_status: error``."""
        with self.lock:
            self._next_video_failures.append(message)

    def take_failure(self) -> str | None:
        with self.lock:
            return self._next_video_failures.popleft() if self._next_video_failures else None

    def next_window(self) -> int:
        with self.lock:
            return next(self._window_cycle)

    def video_by_session(self, session_id: str) -> Video | None:
        with self.lock:
            video_id = self.sessions.get(session_id)
            return self.videos.get(video_id) if video_id else None

    # ----------------------------------------------------------------- comments

    def add_comment(self, video_id: str, author_name: str, text: str, *, author_id: str | None = None,
                    hide_from: bool = False, created_time: float | None = None) -> str:
        """Add a comment on a video (``hide_from``: the author did not authorise the app)."""
        with self.lock:
            if video_id not in self.videos:
                raise KeyError(video_id)
            comment_id = f"{video_id}_{self.new_id(15)}"
            entry = {"id": comment_id, "message": text, "created_time": self.iso(created_time),
                     "from": None if hide_from else {"id": author_id or self.new_id(15), "name": author_name},
                     "like_count": 0, "comment_count": 0, "_ts": created_time or self.now()}
            self.comments.setdefault(video_id, []).append(entry)
        return comment_id

    # ----------------------------------------------------------------- records

    def creations(self) -> dict:
        """How many objects were created: ``{"posts", "photos", "videos"}`` (deleted included)."""
        with self.lock:
            return {"posts": len(self.posts), "photos": len(self.photos),
                    "videos": sum(1 for v in self.videos.values() if v.finished or v.source == "file_url")}
