"""Playlists, playlist items, channel sections, comment threads, and Google's /token.

POST /youtube/v3/playlists?part=snippet,status                (50 units)
POST /youtube/v3/playlistItems?part=snippet                   (50 units)
POST /youtube/v3/channelSections?part=snippet,contentDetails  (50 units)
GET  /youtube/v3/commentThreads?part=snippet&videoId=         (1 unit)
POST /token   grant_type=refresh_token (form client_id, client_secret, refresh_token)
"""

from __future__ import annotations

import base64

from flask import Blueprint, Response, g, request

from ..common import apply_fault
from . import errors
from .calls import READ_SCOPES, WRITE_SCOPES, api_call, fake, json_body, json_response, parts, refuse
from .state import new_id, rfc3339

bp = Blueprint("yt_api", __name__)

SECTION_TYPES = {"allPlaylists", "completedEvents", "liveEvents", "multipleChannels", "multiplePlaylists",
                 "popularUploads", "recentUploads", "singlePlaylist", "subscriptions", "upcomingEvents"}
MAX_SECTIONS = 10
MAX_PLAYLIST_ITEMS = 5000


@bp.post("/youtube/v3/playlists")
def insert_playlist() -> Response:
    def work(user, fault):
        parts({"snippet", "status", "localizations", "id"})
        body = json_body()
        snippet, status = body.get("snippet") or {}, body.get("status") or {}
        title = snippet.get("title") if isinstance(snippet, dict) else None
        if not isinstance(title, str) or not title.strip():
            raise errors.bad_request("playlistTitleRequired", "The request must specify a playlist title.")
        if len(title) > 150 or len(str(snippet.get("description", "")).encode()) > 5000:
            raise errors.bad_request("invalidPlaylistSnippet", "The request provides an invalid playlist snippet.")
        privacy = status.get("privacyStatus", "public") if isinstance(status, dict) else None
        if privacy not in ("private", "unlisted", "public"):
            raise errors.bad_request("invalidValue", f"Invalid value for status.privacyStatus: {privacy}")
        state = fake()
        playlist_id = state.add_playlist(user["channel_id"], title, privacy=privacy)
        with state.lock:
            playlist = state.playlists[playlist_id]
            playlist["snippet"].update({k: v for k, v in snippet.items() if k in ("description", "tags", "defaultLanguage")})
            state.created["playlists"] += 1
        return json_response(200, {"kind": "youtube#playlist", "id": playlist_id,
                                   "snippet": playlist["snippet"], "status": playlist["status"]})

    return api_call("playlists.insert", WRITE_SCOPES, work)


@bp.post("/youtube/v3/playlistItems")
def insert_playlist_item() -> Response:
    def work(user, fault):
        parts({"snippet", "contentDetails", "status", "id"})
        snippet = json_body().get("snippet")
        if not isinstance(snippet, dict) or not snippet.get("playlistId"):
            raise errors.bad_request("playlistIdRequired", "The request does not specify a playlistId.")
        resource = snippet.get("resourceId") or {}
        if not isinstance(resource, dict) or resource.get("kind") != "youtube#video" or not resource.get("videoId"):
            raise errors.bad_request("invalidResourceId", "resourceId must be {kind: youtube#video, videoId}.")
        state = fake()
        with state.lock:
            playlist = state.playlists.get(snippet["playlistId"])
            if playlist is None:
                raise errors.not_found("playlistNotFound", "The playlist identified by playlistId cannot be found.")
            if playlist["channel_id"] != user["channel_id"]:
                raise errors.forbidden("The playlist identified by playlistId cannot be changed by this user.")
            if resource["videoId"] not in state.videos:
                raise errors.not_found("videoNotFound", "The video that you are trying to add cannot be found.")
            return _add_item(state, playlist, resource["videoId"], snippet.get("position"))

    return api_call("playlistItems.insert", WRITE_SCOPES, work)


def _add_item(state, playlist: dict, video_id: str, position) -> Response:
    items = playlist["items"]
    if len(items) >= MAX_PLAYLIST_ITEMS:
        raise errors.forbidden("The playlist already contains the maximum allowed number of items.")
    if position is not None:
        if not playlist["manual_sort"]:
            raise errors.bad_request("manualSortRequired", "The playlist must be manually sorted to set a position.")
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= len(items):
            raise errors.bad_request("invalidPlaylistItemPosition", "The position is out of range for the playlist.")
    position = len(items) if position is None else position
    item_id = base64.urlsafe_b64encode(f"{playlist['id']}.{new_id('', 6)}".encode()).decode().rstrip("=")
    items.insert(position, item_id)
    snippet = {"playlistId": playlist["id"], "position": position, "channelId": playlist["channel_id"],
               "publishedAt": rfc3339(state.now()), "resourceId": {"kind": "youtube#video", "videoId": video_id}}
    state.playlist_items[item_id] = snippet
    state.created["playlistItems"] += 1
    return json_response(200, {"kind": "youtube#playlistItem", "id": item_id, "snippet": snippet})


@bp.post("/youtube/v3/channelSections")
def insert_section() -> Response:
    def work(user, fault):
        parts({"snippet", "contentDetails", "id"})
        body = json_body()
        snippet, details = body.get("snippet") or {}, body.get("contentDetails") or {}
        kind = snippet.get("type") if isinstance(snippet, dict) else None
        if kind not in SECTION_TYPES:
            raise errors.bad_request("invalidValue", f"snippet.type must be one of {sorted(SECTION_TYPES)}.")
        if "style" in snippet:  # channelSections dropped snippet.style
            raise errors.bad_request("invalidValue", "snippet.style is no longer supported for channel sections.")
        playlists, channels = list(details.get("playlists") or []), list(details.get("channels") or [])
        state = fake()
        with state.lock:
            _check_section(state, user, snippet, playlists, channels)
            mine = [s for s in state.sections.values() if s["snippet"]["channelId"] == user["channel_id"]]
            if len(mine) >= MAX_SECTIONS:  # reason name unconfirmed (reference §5.3)
                raise errors.bad_request("maxChannelSectionExceeded", "A channel can have at most 10 sections.")
            section_id = f"{user['channel_id']}.{new_id('', 12, 16)}"
            section = {"kind": "youtube#channelSection", "id": section_id,
                       "snippet": {**{k: v for k, v in snippet.items() if k in ("type", "title")},
                                   "channelId": user["channel_id"], "position": snippet.get("position", len(mine))},
                       "contentDetails": {k: v for k, v in (("playlists", playlists), ("channels", channels)) if v}}
            state.sections[section_id] = section
            state.created["channelSections"] += 1
        return json_response(200, section)

    return api_call("channelSections.insert", WRITE_SCOPES, work)


def _check_section(state, user: dict, snippet: dict, playlists: list, channels: list) -> None:
    kind = snippet["type"]
    if kind == "singlePlaylist" and len(playlists) != 1:
        raise errors.bad_request("invalidValue", "A singlePlaylist section takes exactly one playlist.")
    if kind == "multiplePlaylists" and not playlists:
        raise errors.bad_request("playlistsNeeded", "A multiplePlaylists section needs playlists.")
    if kind == "multipleChannels" and not channels:
        raise errors.bad_request("channelsNeeded", "A multipleChannels section needs channels.")
    if kind.startswith("multiple") and not snippet.get("title"):
        raise errors.bad_request("titleRequired", f"A {kind} section needs snippet.title.")
    if playlists and kind not in ("singlePlaylist", "multiplePlaylists"):
        raise errors.bad_request("playlistsNotNeeded", f"A {kind} section takes no playlists.")
    for playlist_id in playlists:
        if playlist_id not in state.playlists:
            raise errors.not_found("playlistNotFound", f"The playlist {playlist_id} cannot be found.")


@bp.get("/youtube/v3/commentThreads")
def list_comment_threads() -> Response:
    def work(user, fault):
        parts({"id", "snippet", "replies"})
        filters = [k for k in ("videoId", "allThreadsRelatedToChannelId", "id") if request.args.get(k)]
        if len(filters) != 1:
            raise errors.bad_request("missingRequiredParameter", "Give exactly one of videoId, "
                                     "allThreadsRelatedToChannelId, id.")
        if filters[0] != "videoId":
            raise errors.bad_request("operationNotSupported", "This sandbox lists comment threads by videoId only.")
        size, start = _paging()
        state = fake()
        with state.lock:
            video = state.videos.get(request.args["videoId"])
            if video is None:
                raise errors.not_found("videoNotFound", "The video identified by the videoId parameter could not be found.")
            if video.comments_disabled:
                raise errors.YouTubeError(403, "commentsDisabled",
                                          "The video identified by the videoId parameter has disabled comments.")
            threads = list(reversed(state.comments.get(video.id, [])))  # order=time: newest first
        page = [_thread(video, t) for t in threads[start:start + size]]
        body = {"kind": "youtube#commentThreadListResponse", "items": page,
                "pageInfo": {"totalResults": len(page), "resultsPerPage": size}}
        if start + size < len(threads):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return json_response(200, body)

    return api_call("commentThreads.list", READ_SCOPES, work)


def _paging() -> tuple[int, int]:
    raw = request.args.get("maxResults", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise errors.bad_request("invalidParameter", "maxResults must be between 1 and 100.")
    token = request.args.get("pageToken")
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise errors.bad_request("invalidPageToken", "The pageToken is invalid.") from None
    return int(raw), start


def _thread(video, thread: dict) -> dict:
    at = rfc3339(thread["at"])
    comment = {"kind": "youtube#comment", "id": thread["id"], "snippet": {
        "authorDisplayName": thread["author"], "authorChannelId": {"value": thread["author_channel"]},
        "authorProfileImageUrl": f"https://yt3.ggpht.com/{thread['author_channel']}=s48",
        "textDisplay": thread["text"], "textOriginal": thread["text"], "likeCount": 0,
        "publishedAt": at, "updatedAt": at, "videoId": video.id}}
    return {"kind": "youtube#commentThread", "id": thread["id"], "snippet": {
        "channelId": video.channel_id, "videoId": video.id, "canReply": True, "totalReplyCount": 0,
        "isPublic": True, "topLevelComment": comment}}


@bp.post("/token")
def token() -> Response:
    """Google's token endpoint: the refresh grant, and authorization codes (``oauth.exchange``)."""
    state = fake()
    g.sandbox_endpoint = "token"
    fault = state.faults.take("token")
    return apply_fault(fault, _refresh, refuse)


def _refresh() -> Response:
    state, form = fake(), request.form
    if form.get("client_id") != state.client_id or form.get("client_secret") != state.client_secret:
        return errors.oauth_error(401, "invalid_client", "The OAuth client was not found.")
    if form.get("grant_type") == "authorization_code":
        from .oauth import exchange

        return exchange(state, form)
    if form.get("grant_type") != "refresh_token":
        return errors.oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", ""))
    if not form.get("refresh_token"):
        return errors.oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
    try:
        tokens = state.refresh(form["refresh_token"])
    except LookupError as exc:
        return errors.oauth_error(400, "invalid_grant", str(exc))
    return json_response(200, tokens)
