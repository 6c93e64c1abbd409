"""videos.list, videos.delete and thumbnails.set; ``render`` builds a youtube#video.

GET    /youtube/v3/videos?part=status,processingDetails&id=a,b   (1 unit)
DELETE /youtube/v3/videos?id=<id>                                (50 units) -> 204
POST   /upload/youtube/v3/thumbnails/set?videoId=<id>            (50 units) JPEG/PNG <= 2 MiB

Processing: ``uploadStatus`` is ``uploaded`` for ``processing_seconds`` after the
last byte, then ``processed`` (or the scripted ``failed``/``rejected``).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from . import errors
from .calls import READ_SCOPES, UPLOAD_SCOPES, WRITE_SCOPES, api_call, fake, json_response, parts
from .state import Video, rfc3339

bp = Blueprint("yt_videos", __name__)

LIST_PARTS = {"id", "snippet", "status", "processingDetails", "contentDetails", "statistics", "player"}
THUMBNAIL_MAX = 2 * 1024 * 1024


def render(state, video: Video, wanted: list[str] | None, owner: bool) -> dict:
    """The youtube#video resource with the parts ``wanted`` (None: snippet+status)."""
    wanted = wanted or ["snippet", "status"]
    done = state.now() >= video.created_at + state.processing_seconds
    body: dict = {"kind": "youtube#video", "etag": video.sha256[:27], "id": video.id}
    if "snippet" in wanted:
        base = f"https://i.ytimg.com/vi/{video.id}"
        body["snippet"] = {
            "publishedAt": rfc3339(video.created_at), "channelId": video.channel_id,
            "title": video.snippet.get("title", ""), "description": video.snippet.get("description", ""),
            "tags": video.snippet.get("tags", []), "categoryId": str(video.snippet.get("categoryId", "22")),
            "liveBroadcastContent": "none",
            "thumbnails": {"default": {"url": f"{base}/default.jpg", "width": 120, "height": 90},
                           "high": {"url": f"{base}/hqdefault.jpg", "width": 480, "height": 360}},
        }
    if "status" in wanted:
        body["status"] = _status(video, done)
    if "processingDetails" in wanted and owner:
        body["processingDetails"] = _processing(video, done)
    return body


def _status(video: Video, done: bool) -> dict:
    status = {"uploadStatus": "uploaded", "privacyStatus": video.status.get("privacyStatus", "public"),
              "license": "youtube", "embeddable": True, "publicStatsViewable": True}
    if done:
        status["uploadStatus"] = video.outcome
        if video.outcome == "failed":
            status["failureReason"] = video.outcome_reason or "codec"
        elif video.outcome == "rejected":
            status["rejectionReason"] = video.outcome_reason or "duplicate"
    return status


def _processing(video: Video, done: bool) -> dict:
    if not done:
        return {"processingStatus": "processing",
                "processingProgress": {"partsTotal": 100, "partsProcessed": 50, "timeLeftMs": 1000}}
    return {"processingStatus": {"processed": "succeeded", "failed": "failed"}.get(video.outcome, "terminated")}


def owned_video(user: dict, video_id: str) -> Video:
    state = fake()
    video = state.videos.get(video_id)
    if video is None:
        raise errors.not_found("videoNotFound", "The video identified by the id parameter could not be found.")
    if video.channel_id != user["channel_id"]:
        raise errors.forbidden("The video identified by the id parameter cannot be changed by this user.")
    return video


@bp.get("/youtube/v3/videos")
def list_videos() -> Response:
    def work(user, fault):
        wanted = parts(LIST_PARTS)
        ids = [i for i in request.args.get("id", "").split(",") if i]
        if not ids:
            raise errors.bad_request("missingRequiredParameter", "No filter selected. Expected one of: id, chart, myRating")
        state = fake()
        with state.lock:
            items = [render(state, v, wanted, v.channel_id == user["channel_id"])
                     for v in (state.videos.get(i) for i in ids) if v is not None]
        return json_response(200, {"kind": "youtube#videoListResponse", "items": items,
                                   "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}})

    return api_call("videos.list", READ_SCOPES, work)


@bp.delete("/youtube/v3/videos")
def delete_video() -> Response:
    def work(user, fault):
        state = fake()
        with state.lock:
            video = owned_video(user, request.args.get("id", ""))
            del state.videos[video.id]
            state.deleted.append(video.id)
        return json_response(204)

    return api_call("videos.delete", WRITE_SCOPES, work)


@bp.post("/upload/youtube/v3/thumbnails/set")
def set_thumbnail() -> Response:
    def work(user, fault):
        state = fake()
        video = owned_video(user, request.args.get("videoId", ""))
        if not state.channels[user["channel_id"]]["verified"]:
            raise errors.forbidden("The authenticated user doesn't have permissions to upload and set custom "
                                   "video thumbnails.")
        data = request.get_data(cache=False)
        if not data:
            raise errors.bad_request("mediaBodyRequired", "The request does not include the image content.")
        if len(data) > THUMBNAIL_MAX:
            raise errors.YouTubeError(413, "uploadTooLarge", "The thumbnail image file is too large (max 2 MB).")
        kind = "png" if data.startswith(b"\x89PNG") else "jpeg" if data.startswith(b"\xff\xd8") else None
        if kind is None:
            raise errors.bad_request("imageFormatUnsupported", "The image is not a JPEG or PNG.")
        url = f"https://i.ytimg.com/vi/{video.id}/maxresdefault.jpg"
        with state.lock:
            video.thumbnail = {"format": kind, "size": len(data)}
            state.created["thumbnails"] += 1
        return json_response(200, {"kind": "youtube#thumbnailSetResponse",
                                    "items": [{"default": {"url": url, "width": 120, "height": 90}}]})

    return api_call("thumbnails.set", UPLOAD_SCOPES, work)
