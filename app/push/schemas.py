"""Body schemas of the 19 push endpoints (``request.push.<node>``).

Unknown fields, wrong types and missing required fields are refused with a 400
naming the field. Limits that can only be known from the file itself (format,
size) are checked later, while downloading.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _absolute_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL, e.g. https://example.com/video.mp4")
    return value


HttpUrl = Annotated[str, Field(max_length=2048), AfterValidator(_absolute_http_url)]
Text = Annotated[str, Field(max_length=10000)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class Node(BaseModel):
    """Every push node accepts ``callback_url``: a push slower than the synchronous
    bound answers 202, and the result is then POSTed there like a video's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    callback_url: HttpUrl | None = None


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
    weighted = len(re.sub(r"https?://\S+", "x" * 23, text))
    if weighted > 280:
        raise ValueError(f"is {weighted} characters long; X allows at most 280 (a URL counts as 23)")
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
