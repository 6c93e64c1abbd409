"""The table of push endpoints: path after the identity, body node, schema, kind.

A test pins this table; adding an endpoint is one row here plus the adapter work.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from app.push import schemas as s


@dataclass(frozen=True)
class Endpoint:
    provider: str
    path: str  # after /push/identities/<identity_token>/, without ".json"
    node: str  # key under request.push
    schema: type[BaseModel]
    kind: str  # what the adapter is asked to do
    object: str  # the "object" of the answer: post, picture, video, pin, playlist, section

    @property
    def is_video(self) -> bool:
        return self.object == "video" and self.kind.endswith("video") and self.kind != "playlist/video"


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("facebook", "facebook/post", "post", s.FacebookPost, "post", "post"),
    Endpoint("facebook", "facebook/picture", "picture", s.FacebookPicture, "picture", "picture"),
    Endpoint("facebook", "facebook/video", "video", s.FacebookVideo, "video", "video"),
    Endpoint("facebook", "facebook/group/post", "group", s.GroupPost, "group/post", "post"),
    Endpoint("facebook", "facebook/group/picture", "group", s.GroupPicture, "group/picture", "picture"),
    Endpoint("facebook", "facebook/group/video", "group", s.GroupVideo, "group/video", "video"),
    Endpoint("facebook", "facebook/page/post", "page", s.GroupPost, "page/post", "post"),
    Endpoint("facebook", "facebook/page/picture", "page", s.GroupPicture, "page/picture", "picture"),
    Endpoint("facebook", "facebook/page/video", "page", s.GroupVideo, "page/video", "video"),
    Endpoint("linkedin", "linkedin/post", "post", s.LinkedInPost, "post", "post"),
    Endpoint("linkedin", "linkedin/company/post", "post", s.LinkedInCompanyPost, "company/post", "post"),
    Endpoint("pinterest", "pinterest/pin", "pin", s.PinterestPin, "pin", "pin"),
    Endpoint("twitter", "twitter/post", "post", s.TwitterPost, "post", "post"),
    Endpoint("twitter", "twitter/picture", "picture", s.TwitterPicture, "picture", "picture"),
    Endpoint("twitter", "twitter/video", "video", s.TwitterVideo, "video", "video"),
    Endpoint("youtube", "youtube/video", "video", s.YouTubeVideo, "video", "video"),
    Endpoint("youtube", "youtube/playlist/<playlist_id>/video", "video", s.YouTubePlaylistVideo, "playlist/video", "video"),
    Endpoint("youtube", "youtube/playlist", "playlist", s.YouTubePlaylist, "playlist", "playlist"),
    Endpoint("youtube", "youtube/channel/section", "section", s.YouTubeSection, "channel/section", "section"),
)
