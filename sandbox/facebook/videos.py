"""Video publishing rules of the fake (reference §2.4): ``upload_phase`` start /
transfer / finish on ``/{target}/videos``, and the pull-from-URL ``file_url`` route.

The server picks each transfer window (``fake.windows``, cycled); a transfer whose
``start_offset`` is not the committed offset gets subcode 1363037 with
``error_data`` telling the client where to resume. Each accepted window is
recorded as ``[start, end, sha256]`` on the ``Video``; the whole file's sha256 is
known after finish.
"""

from __future__ import annotations

import hashlib

import requests
from flask import request

from ..common import MiB
from . import errors
from .content import _flag, publish_target
from .errors import GraphError
from .state import Token, Video

MAX_VIDEO = 2 * 1024 * MiB
MIN_VIDEO = 1024


def post_videos(fake, token: Token, node: str, phase: str | None) -> tuple[int, dict]:
    """Dispatch ``POST /{target}/videos`` on ``upload_phase`` (or ``file_url``)."""
    kind, target = publish_target(fake, token, node)
    params = request.form
    if phase == "start":
        return _start(fake, token, target, params)
    if phase == "transfer":
        return _transfer(fake, target, params, request.files.get("video_file_chunk"))
    if phase == "finish":
        return _finish(fake, target, params)
    if phase:
        raise errors.bad_param("upload_phase must be start, transfer or finish")
    if params.get("file_url"):
        return _from_url(fake, token, target, params)
    raise errors.bad_param("Provide upload_phase=start|transfer|finish or a file_url")


def _start(fake, token: Token, target: str, params) -> tuple[int, dict]:
    try:
        size = int(params.get("file_size", ""))
    except ValueError:
        raise errors.bad_param("The parameter file_size is required and must be an integer") from None
    if size > MAX_VIDEO:
        raise errors.video_size(1363023, "The video file you tried to upload is too large (over 2 GB).")
    if size < MIN_VIDEO:
        raise errors.video_size(1363022, "The video file you tried to upload is too small (under 1 KB).")
    with fake.lock:
        video = Video(fake.new_id(), target, token.user_id, file_size=size, session_id=fake.new_id(),
                      created_time=fake.now())
        video.window_end = min(size, fake.next_window())
        fake.videos[video.id] = video
        fake.sessions[video.session_id] = video.id
    return 200, {"upload_session_id": video.session_id, "video_id": video.id,
                 "start_offset": "0", "end_offset": str(video.window_end)}


def _session(fake, target: str, params) -> Video:
    video = fake.video_by_session(params.get("upload_session_id", ""))
    if video is None or video.target != target:
        raise errors.bad_param("Invalid upload_session_id for this target", subcode=1363040)
    return video


def _transfer(fake, target: str, params, part) -> tuple[int, dict]:
    if part is None:
        raise errors.bad_param("video_file_chunk must be a multipart file part")
    with fake.lock:
        video = _session(fake, target, params)
        video.transfer_calls += 1
        if video.finished:
            raise errors.bad_param("This upload session has already been finished")
        try:
            start = int(params.get("start_offset", ""))
        except ValueError:
            raise errors.bad_param("The parameter start_offset is required and must be an integer") from None
        if start != video.committed:
            raise errors.upload_resync(video.committed, video.window_end)
        sink = part.stream
        if sink.size != video.window_end - start or sink.data is None:
            raise errors.bad_param(f"video_file_chunk must hold exactly bytes [{start}, {video.window_end})")
        video.hasher.update(sink.view())
        video.ranges.append([start, video.window_end, sink.hexdigest])
        video.committed = video.window_end
        video.window_end = min(video.file_size, video.committed + fake.next_window())
    return 200, {"start_offset": str(video.committed), "end_offset": str(video.window_end)}


def _finish(fake, target: str, params) -> tuple[int, dict]:
    with fake.lock:
        video = _session(fake, target, params)
        if video.finished:
            raise errors.bad_param("This upload session has already been finished")
        if video.committed != video.file_size:
            raise errors.bad_param(f"The upload is incomplete: {video.committed} of {video.file_size} bytes received")
        _describe(fake, video, params)
    return 200, {"success": True}


def _describe(fake, video: Video, params) -> None:
    """Mark finished, take title/description/published, start processing."""
    video.finished = True
    video.title, video.description = params.get("title"), params.get("description")
    video.published = _flag(params.get("published"), True)
    video.no_story = _flag(params.get("no_story"), False)
    video.fail_message = fake.take_failure()
    video.status = "processing"
    video.created_time = fake.now()


def _from_url(fake, token: Token, target: str, params) -> tuple[int, dict]:
    """Pull-from-URL: the fake fetches ``file_url`` itself, as Meta would."""
    hasher, size = hashlib.sha256(), 0
    try:
        with requests.get(params["file_url"], stream=True, timeout=10) as resp:
            resp.raise_for_status()
            for chunk in resp.iter_content(MiB):
                hasher.update(chunk)
                size += len(chunk)
    except requests.RequestException:
        raise GraphError(100, "(#100) file_url could not be fetched", subcode=2061006) from None
    with fake.lock:
        video = Video(fake.new_id(), target, token.user_id, file_size=size, source="file_url",
                      committed=size, created_time=fake.now(), hasher=hasher)
        video.ranges.append([0, size, hasher.hexdigest()])
        fake.videos[video.id] = video
        _describe(fake, video, params)
    return 200, {"id": video.id}
