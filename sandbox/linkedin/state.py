"""State of the fake LinkedIn: members, tokens, organizations, images, posts, counters.

``FakeLinkedIn`` is what tests hold (``app.extensions["fake"]``). Knobs:
``add_user``, ``add_organization``, ``expire_token``, ``revoke_refresh``,
``expire_refresh``, ``refresh_uses``, ``partner``, ``fail_next_image``,
``expire_image_upload``, ``set_daily_limit``, ``set_live_versions``,
``reject_duplicates``, ``unescaped`` ("truncate" or "reject"),
``member_can_read_images``, ``advance`` / ``clock``, ``faults.add(endpoint, kind)``.
Records: ``users``, ``organizations``, ``images`` (bytes, sha256, each PUT),
``posts``, ``deleted_posts``, ``calls``; ``created("posts"|"images")`` counts.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from dataclasses import dataclass, field

from ..common import SandboxState
from . import errors

DEFAULT_SCOPE = "openid profile email w_member_social w_organization_social r_organization_social"
ACCESS_TTL = 60 * 86400  # 60 days 
REFRESH_TTL = 365 * 86400
UPLOAD_URL_TTL = 3600  # seconds an image upload URL stays valid (unconfirmed)
#: ``LinkedIn-Version`` values LinkedIn has published (its migrations table and
#: changelog). It skips months (there is no 202512), so a YYYYMM inside the live
#: window is not enough: an unpublished one answers 426 NONEXISTENT_VERSION too.
PUBLISHED_VERSIONS = (
    "202501", "202502", "202503", "202504", "202505", "202506", "202507", "202508", "202509", "202510",
    "202511", "202601", "202602", "202603", "202604", "202605", "202606", "202607", "202608",
)
#: Scopes that need the Community Management API product on the app.
ORGANIZATION_SCOPES = frozenset({"w_organization_social", "r_organization_social", "rw_organization_admin"})
POSTING_ROLES = frozenset({"ADMINISTRATOR", "DIRECT_SPONSORED_CONTENT_POSTER", "RECRUITING_POSTER"})
ROLES = POSTING_ROLES | {"ANALYST", "CURATOR", "CONTENT_ADMINISTRATOR", "LEAD_GEN_FORMS_MANAGER"}

FAULT_ENDPOINTS = frozenset(
    {"token", "userinfo", "acls", "images_init", "image_upload", "image_get", "posts", "post_get", "post_delete"}
)
#: Extra fault kinds: 426 sunset, 403 role/scope refusal, 422 duplicate, the daily
#: quota (429 until midnight UTC), and an image whose processing fails.
EXTRA_FAULT_KINDS = ("426", "403", "422", "quota", "processing_failed")


@dataclass
class AccessToken:
    user_id: str
    scope: str
    expires_at: float
    revoked: bool = False


@dataclass
class RefreshToken:
    user_id: str
    scope: str
    expires_at: float
    revoked: bool = False
    uses_left: int | None = None  # None: unlimited


@dataclass
class Image:
    """One ``urn:li:image:...``; dict-style reads work: ``fake.images[urn]["sha256"]``."""

    urn: str
    owner: str
    upload_id: str
    upload_token: str
    upload_expires_at: float
    created_at: float
    status: str = "WAITING_UPLOAD"  # -> PROCESSING -> AVAILABLE | PROCESSING_FAILED
    size: int = 0
    sha256: str | None = None
    puts: list = field(default_factory=list)  # {"bytes", "sha256", "range": [first, last], "status"}
    uploaded_at: float | None = None
    fail: bool = False

    def __getitem__(self, key):
        return getattr(self, key)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in (
            "urn", "owner", "status", "size", "sha256", "puts", "created_at", "uploaded_at", "upload_expires_at")}


class FakeLinkedIn(SandboxState):
    """All state of one fake LinkedIn. Thread-safe: mutate only under ``self.lock``."""

    provider = "linkedin"
    fault_endpoints = FAULT_ENDPOINTS
    extra_fault_kinds = EXTRA_FAULT_KINDS

    def __init__(self, *, client_id: str = "sandbox-client", client_secret: str = "sandbox-secret",
                 partner: bool = True, image_processing_secs: float = 0.5):
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        #: App-level "partner" flag: only partner apps get refresh tokens.
        self.partner = partner
        #: Seconds an uploaded image stays PROCESSING; a post may use it only once AVAILABLE.
        self.image_processing_secs = image_processing_secs
        self._ids = itertools.count(1)
        self._clear()

    def _clear(self) -> None:
        self.reject_duplicates = True
        self.unescaped = "truncate"  # or "reject": what a reserved, unescaped character does
        self.member_can_read_images = True
        self.live_versions: tuple[str, str] | None = None  # None: the 12 months up to the clock's month
        self.published_versions: tuple[str, ...] = PUBLISHED_VERSIONS
        #: The app has the Community Management API product: only then may the consent
        #: page grant organization scopes (else ``unauthorized_scope_error``).
        self.community_management = False
        self.users: dict[str, dict] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.organizations: dict[str, dict] = {}  # org id -> {"id", "name", "roles": {user_id: role}}
        self.images: dict[str, Image] = {}
        self.posts: list[dict] = []
        self.deleted_posts: list[dict] = []
        self.daily_limits: dict[str, int | None] = {"app": None, "member": None}
        self._counters: dict[tuple, int] = {}
        self._fail_images = 0

    def reset(self) -> None:
        """Forget everything: members, tokens, media, posts, limits, knobs, faults, calls."""
        with self.lock:
            super().reset()
            self._clear()

    # ----------------------------------------------------------------- ids

    def new_digits(self) -> str:
        """A fresh 19-digit activity id, like LinkedIn's share ids."""
        return str(7_250_000_000_000_000_000 + next(self._ids) * 4096 + secrets.randbelow(4096))

    def find_post(self, urn: str) -> dict | None:
        with self.lock:
            return next((p for p in self.posts if p["id"] == urn), None)

    def created(self, what: str) -> int:
        """How many ``posts`` or ``images`` were created (deleted posts included)."""
        with self.lock:
            return len(self.images) if what == "images" else len(self.posts) + len(self.deleted_posts)

    # ----------------------------------------------------------------- members, organizations

    def add_user(self, user_id: str | None = None, username: str | None = None, *,
                 access_token: str | None = None, refresh_token: str | None = None,
                 expires_in: int = ACCESS_TTL, scope: str = DEFAULT_SCOPE, partner: bool | None = None,
                 organization: bool = True) -> dict:
        """Create a member and issue tokens; by default also an organization it administers.

        Returns ``{"user_id", "username", "access_token", "refresh_token" (None unless
        partner), "expires_in", "refresh_token_expires_in", "scope", "organization_id"}``.
        ``partner`` overrides the app-level flag for this member.
        """
        with self.lock:
            user_id = str(user_id) if user_id is not None else secrets.token_urlsafe(7)
            username = username or f"member-{user_id}"
            partner = self.partner if partner is None else partner
            self.users[user_id] = {"user_id": user_id, "username": username, "partner": partner}
            tokens = self._issue(user_id, scope, int(expires_in), access_token)
            tokens["refresh_token"] = None
            tokens["refresh_token_expires_in"] = None
            if partner:
                refresh_token = refresh_token or secrets.token_urlsafe(40)
                self.refresh_tokens[refresh_token] = RefreshToken(user_id, scope, self.now() + REFRESH_TTL)
                tokens.update(refresh_token=refresh_token, refresh_token_expires_in=REFRESH_TTL)
            org_id = self.add_organization(user_id) if organization else None
        return {"user_id": user_id, "username": username, **tokens, "organization_id": org_id}

    def _issue(self, user_id: str, scope: str, expires_in: int, access_token: str | None = None) -> dict:
        access_token = access_token or secrets.token_urlsafe(48)
        self.access_tokens[access_token] = AccessToken(user_id, scope, self.now() + expires_in)
        return {"access_token": access_token, "expires_in": expires_in, "scope": scope}

    def add_organization(self, user_id: str | None = None, org_id: str | None = None,
                         role: str = "ADMINISTRATOR", name: str | None = None) -> str:
        """Create (or join) an organization; ``user_id`` gets ``role`` on it. Returns its id."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {sorted(ROLES)}")
        with self.lock:
            org_id = str(org_id) if org_id is not None else str(100_000 + next(self._ids))
            org = self.organizations.setdefault(org_id, {"id": org_id, "name": name or f"Org {org_id}", "roles": {}})
            if user_id is not None:
                org["roles"][str(user_id)] = role
        return org_id

    def role(self, user_id: str, org_id: str) -> str | None:
        with self.lock:
            org = self.organizations.get(org_id)
            return org["roles"].get(user_id) if org else None

    # ----------------------------------------------------------------- tokens

    def expire_token(self, access_token: str) -> None:
        """The token answers 401 EXPIRED_ACCESS_TOKEN from now on."""
        with self.lock:
            self.access_tokens[access_token].expires_at = self.now() - 1

    def revoke_refresh(self, refresh_token: str) -> None:
        with self.lock:
            self.refresh_tokens[refresh_token].revoked = True

    def expire_refresh(self, refresh_token: str) -> None:
        with self.lock:
            self.refresh_tokens[refresh_token].expires_at = self.now() - 1

    def refresh_uses(self, refresh_token: str, uses: int) -> None:
        """The refresh token works ``uses`` more times (e.g. 1: "works once"), then dies."""
        with self.lock:
            self.refresh_tokens[refresh_token].uses_left = uses

    def authenticate(self, authorization: str | None, scopes: frozenset[str] = frozenset()) -> AccessToken:
        """The token record behind ``Authorization: Bearer``; LinkedInError otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        with self.lock:
            record = self.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if record is None or record.revoked:
                raise errors.invalid_token()
            if self.now() >= record.expires_at:
                raise errors.expired_token()
        missing = sorted(scopes - set(record.scope.split()))
        if missing:
            raise errors.forbidden(f"Not enough permissions to access this resource: missing scope {', '.join(missing)}")
        return record

    def refresh(self, form: dict) -> dict:
        """The refresh grant : a new access token, same refresh token."""
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            raise errors.oauth_error(401, "invalid_client", "Client authentication failed")
        if form.get("grant_type") != "refresh_token":
            raise errors.oauth_error(400, "unsupported_grant_type", "grant_type must be refresh_token here")
        with self.lock:
            record = self.refresh_tokens.get(form.get("refresh_token") or "")
            if record is None or record.revoked or self.now() >= record.expires_at or record.uses_left == 0:
                raise errors.invalid_grant()
            if not self.users.get(record.user_id, {}).get("partner", self.partner):
                raise errors.oauth_error(400, "unauthorized_client", "Refresh tokens are not enabled for this application")
            if record.uses_left is not None:
                record.uses_left -= 1
            tokens = self._issue(record.user_id, record.scope, ACCESS_TTL)
            # Not extended by use: the same refresh token, with what is left of its life.
            token = next(t for t, r in self.refresh_tokens.items() if r is record)
            return {**tokens, "refresh_token": token,
                    "refresh_token_expires_in": int(record.expires_at - self.now())}

    # ----------------------------------------------------------------- versions, counters

    def set_live_versions(self, oldest: str, newest: str) -> None:
        """Only ``LinkedIn-Version`` values in [oldest, newest] are served; others get 426."""
        with self.lock:
            self.live_versions = (oldest, newest)

    def version_live(self, version: str) -> bool:
        """Published by LinkedIn and not yet sunset (inside ``version_window``)."""
        oldest, newest = self.version_window()
        published = self.live_versions is not None or version in self.published_versions
        return len(version) == 6 and version.isdigit() and published and oldest <= version <= newest

    def version_window(self) -> tuple[str, str]:
        """The live window: the knob, or the twelve months up to the fake clock's month."""
        if self.live_versions:
            return self.live_versions
        today = dt.datetime.fromtimestamp(self.now(), dt.timezone.utc)
        months = today.year * 12 + today.month - 1
        oldest = months - 12  # about one year of service
        newest = months + 1  # a client a few hours ahead of us is not refused
        fmt = lambda m: f"{m // 12:04d}{m % 12 + 1:02d}"  # noqa: E731
        return fmt(oldest), fmt(newest)

    def set_daily_limit(self, member: int | None = None, app: int | None = None) -> None:
        """Calls allowed per simulated UTC day, per member and per app (None: unlimited)."""
        with self.lock:
            self.daily_limits = {"member": member, "app": app}
            self._counters.clear()

    def count_call(self, user_id: str) -> str | None:
        """Count one API call; return the exhausted scope ("MEMBER"/"APPLICATION") or None."""
        day = int(self.now() // 86400)
        with self.lock:
            checks = (("member", (day, "member", user_id), "MEMBER"), ("app", (day, "app"), "APPLICATION"))
            for name, key, scope in checks:
                limit = self.daily_limits.get(name)
                if limit is not None and self._counters.get(key, 0) >= limit:
                    return scope
            for _, key, _ in checks:
                self._counters[key] = self._counters.get(key, 0) + 1
        return None

    # ----------------------------------------------------------------- images

    def fail_next_image(self, count: int = 1) -> None:
        """The next ``count`` uploaded images end ``PROCESSING_FAILED``."""
        with self.lock:
            self._fail_images += count

    def take_image_failure(self) -> bool:
        with self.lock:
            if self._fail_images:
                self._fail_images -= 1
                return True
            return False

    def expire_image_upload(self, urn: str) -> None:
        """The image's upload URL is expired (a PUT to it is refused)."""
        with self.lock:
            self.images[urn].upload_expires_at = self.now() - 1

    def image_status(self, image: Image) -> str:
        """Processing finishes ``image_processing_secs`` after the upload."""
        if image.status == "PROCESSING" and self.now() >= (image.uploaded_at or 0) + self.image_processing_secs:
            image.status = "PROCESSING_FAILED" if image.fail else "AVAILABLE"
        return image.status
