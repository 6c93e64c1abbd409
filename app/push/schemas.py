"""Body schemas of the 19 push endpoints (``request.push.<node>``).

Unknown fields, wrong types and missing required fields are refused with a 400
naming the field. Limits that can only be known from the file itself (format,
size) are checked later, while downloading.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)


def _absolute_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL, e.g. https://example.com/video.mp4")
    return value


HttpUrl = Annotated[str, Field(max_length=2048), AfterValidator(_absolute_http_url)]

# RFC 3339 section 5.6 date-time: an offset (Z or +hh:mm) is required.
_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_EPOCH = re.compile(r"^\d{1,12}(\.\d+)?$")
_PUBLISH_AT_FORMS = ("an RFC 3339 date-time with a UTC offset (e.g. 2027-03-01T09:30:00+01:00 or "
                     "2027-03-01T08:30:00Z) or epoch seconds (e.g. 1803972600)")
#: The latest ``publish_at`` accepted when no horizon is passed in the validation context.
DEFAULT_HORIZON = dt.timedelta(days=366)


def parse_publish_at(value: object) -> dt.datetime:
    """``publish_at`` as an aware UTC datetime: RFC 3339 with an offset, or epoch seconds
    (a JSON number or a string of digits). ValueError says which forms are accepted."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"must be {_PUBLISH_AT_FORMS}")
    if isinstance(value, str):
        text = value.strip()
        if _EPOCH.match(text):
            value = float(text)
        else:
            match = _RFC3339.match(text)
            if not match:
                hint = " (it has no UTC offset)" if re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2})?(\.\d+)?$", text) else ""
                raise ValueError(f"must be {_PUBLISH_AT_FORMS}{hint}")
            fraction = (match.group(7) or "")[:7]  # Python reads at most 6 digits
            offset = "+00:00" if match.group(8) in ("Z", "z") else match.group(8)
            try:
                moment = dt.datetime.fromisoformat(
                    f"{'-'.join(match.group(1, 2, 3))}T{':'.join(match.group(4, 5, 6))}{fraction}{offset}")
            except ValueError as exc:
                raise ValueError(f"is not a valid date-time ({exc})") from None
            return moment.astimezone(dt.timezone.utc)
    if not math.isfinite(value) or value < 0 or value > 1e11:
        raise ValueError(f"must be {_PUBLISH_AT_FORMS}")
    return dt.datetime.fromtimestamp(value, dt.timezone.utc)


def _publish_window(moment: dt.datetime, info: ValidationInfo) -> dt.datetime:
    """In the future and within the horizon (``context``: ``now``, ``horizon`` seconds)."""
    context = info.context or {}
    now = context.get("now") or dt.datetime.now(dt.timezone.utc)
    horizon = dt.timedelta(seconds=context["horizon"]) if context.get("horizon") else DEFAULT_HORIZON
    if moment < now:
        raise ValueError(f"{moment.isoformat()} is in the past; give a time in the future, "
                         "or leave publish_at out to publish now")
    if moment > now + horizon:
        raise ValueError(f"{moment.isoformat()} is more than {horizon.days} days ahead; "
                         f"schedule at most until {(now + horizon).replace(microsecond=0).isoformat()}")
    return moment


PublishAt = Annotated[dt.datetime, BeforeValidator(parse_publish_at), AfterValidator(_publish_window), WithJsonSchema({
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number", "minimum": 0}],
    "description": "Schedule the push: RFC 3339 with a UTC offset, or epoch seconds; in the future and "
                   "within the schedule horizon (366 days by default). The push is stored and its media "
                   "fetched now; the publish step runs at this time. Cancel with DELETE until then.",
    "example": "2027-03-01T09:30:00+01:00"})]
Text = Annotated[str, Field(max_length=10000)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class Node(BaseModel):
    """Every push node accepts ``callback_url``: a push slower than the synchronous
    bound answers 202, and the result is then POSTed there like a video's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    callback_url: HttpUrl | None = None
    # A scheduled push: stored now, media fetched ahead, the publish step run at this time.
    publish_at: PublishAt | None = None


class VideoExtras(Node):
    """Fields every video node accepts (echoed in stream events)."""

    event: Annotated[str, Field(max_length=200)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None


class FacebookPost(Node):
    message: Text | None = None
    link: HttpUrl | None = None
    attachments: list[Id] | None = Field(default=None, max_length=30)

    @model_validator(mode="after")
    def _message_or_link(self):
        if not self.message and not self.link:
            raise ValueError("give a message or a link")
        if self.link and self.attachments:
            raise ValueError("link and attachments cannot be combined")
        return self


class FacebookPicture(Node):
    url: HttpUrl
    description: Text | None = None
    create_post: bool = True


class FacebookVideo(VideoExtras):
    video_url: HttpUrl | None = None
    url: HttpUrl | None = None
    title: Annotated[str, Field(max_length=255)] | None = None
    description: Text | None = None
    create_post: bool = True

    @model_validator(mode="after")
    def _alias(self):
        if not self.video_url and not self.url:
            raise ValueError("video_url is required")
        self.video_url = self.video_url or self.url
        self.url = None
        return self


class _Targeted(Node):
    id: Id


class GroupPost(_Targeted, FacebookPost):
    pass


class GroupPicture(_Targeted, FacebookPicture):
    pass


class GroupVideo(_Targeted, FacebookVideo):
    pass


class LinkedInPost(Node):
    message: Annotated[str, Field(max_length=3000)] | None = None
    link: HttpUrl | None = None
    title: Annotated[str, Field(max_length=400)] | None = None
    description: Text | None = None
    picture: HttpUrl | None = None

    @model_validator(mode="after")
    def _message_or_link(self):
        if not self.message and not self.link:
            raise ValueError("give a message or a link")
        return self


class LinkedInCompanyPost(LinkedInPost):
    company: Annotated[str, Field(pattern=r"^(urn:li:organization:)?[0-9]{1,20}$")]


class PinterestPin(VideoExtras):
    board: Annotated[str, Field(pattern=r"^[0-9]{1,25}$")]
    picture: HttpUrl | None = None
    video_url: HttpUrl | None = None
    description: Annotated[str, Field(max_length=800)] | None = None
    link: HttpUrl | None = None
    title: Annotated[str, Field(max_length=100)] | None = None

    @model_validator(mode="after")
    def _one_media(self):
        if bool(self.picture) == bool(self.video_url):
            raise ValueError("give exactly one of picture or video_url")
        return self


def _tweet_length(text: str) -> str:
    from app.providers.twitter import MAX_WEIGHTED_LENGTH, weighted_length

    weighted = weighted_length(text)
    if weighted > MAX_WEIGHTED_LENGTH:
        raise ValueError(f"is {weighted} characters long as X counts them; X allows at most "
                         f"{MAX_WEIGHTED_LENGTH} (CJK characters and emoji count 2, a link 23)")
    return text


class TwitterPost(Node):
    message: Annotated[str, Field(min_length=1), AfterValidator(_tweet_length)]
    attachments: list[Annotated[str, Field(pattern=r"^[0-9]{1,19}$")]] | None = Field(default=None, max_length=4)
    location: Annotated[str, Field(max_length=200)] | None = None


class TwitterPicture(Node):
    url: HttpUrl
    description: Annotated[str, Field(max_length=1000)] | None = None


class TwitterVideo(VideoExtras):
    video_url: HttpUrl


Privacy = Literal["private", "unlisted", "public"]
NoAngles = Annotated[str, Field(pattern=r"^[^<>]*$")]


class YouTubeVideo(VideoExtras):
    video_url: HttpUrl
    title: Annotated[NoAngles, Field(min_length=1, max_length=100)]
    description: Annotated[NoAngles, Field(max_length=5000)] | None = None
    thumbnail_url: HttpUrl | None = None
    privacy_status: Privacy = "private"
    tags: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=100)
    category_id: Annotated[str, Field(pattern=r"^[0-9]{1,4}$")] | None = None


class YouTubePlaylistVideo(Node):
    video_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{11}$")]
    position: Annotated[int, Field(ge=0, le=100000)] | None = None


class YouTubePlaylist(Node):
    title: Annotated[str, Field(min_length=1, max_length=150)]
    description: Annotated[str, Field(max_length=5000)] | None = None
    privacy_status: Privacy = "private"
    default_language: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | None = None


SectionType = Literal[
    "allPlaylists", "completedEvents", "liveEvents", "multipleChannels", "multiplePlaylists",
    "popularUploads", "recentUploads", "singlePlaylist", "subscriptions", "upcomingEvents",
]


class YouTubeSection(Node):
    type: SectionType
    style: Literal["horizontalRow", "verticalList"] | None = None
    title: Annotated[str, Field(max_length=100)] | None = None
    position: Annotated[int, Field(ge=0, le=9)] | None = None
    playlists: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{2,64}$")]] | None = None
    channels: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{2,64}$")]] | None = None

    @model_validator(mode="after")
    def _shape(self):
        if self.type == "singlePlaylist" and len(self.playlists or []) != 1:
            raise ValueError("a singlePlaylist section takes exactly one playlist id in playlists")
        if self.type.startswith("multiple") and not self.title:
            raise ValueError(f"a {self.type} section needs a title")
        return self
