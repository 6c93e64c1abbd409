"""The decision for one video push: pass through, remux, transcode or refuse.

``decide(probe, spec)`` compares what the probe found with what the network
takes (``app.media.specs``) and returns a ``Decision`` whose ``why`` lists
every mismatch in words, kept in the request's audit:

* **pass** - the file already fits: its bytes reach the network unchanged;
* **remux** - only the container is wrong: streams copied into MP4, no re-encode;
* **transcode** - H.264 yuv420p + AAC-LC in MP4 (index first), scaled into the
  network's box keeping the aspect ratio, frame rate capped; a stream that
  already fits is copied (``plan["video"] == "copy"``);
* **refuse** - a limit no conversion can meet (too long, too short, too
  large, no video, a shape outside the aspect range), with its reason code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.media.specs import VideoSpec

#: Bitrate caps of our own encodes (bits/s): well above what the networks recommend.
MAX_VIDEO_BITRATE = 8_000_000
AUDIO_BITRATE = 128_000
MIN_VIDEO_BITRATE = 150_000


@dataclass
class Decision:
    action: str  # pass | remux | transcode | refuse
    why: list[str] = field(default_factory=list)
    reason: str | None = None
    info: str | None = None
    plan: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = {"action": self.action, "why": self.why}
        if self.reason:
            out.update(reason=self.reason, info=self.info)
        if self.plan:
            out["plan"] = self.plan
        return out


def clock(seconds: float) -> str:
    """21:40, or 1:02:03 past an hour."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def span(seconds: float) -> str:
    """20 minutes, 4 seconds, 2 hours, 0.5 seconds."""
    if seconds >= 3600 and seconds % 3600 == 0:
        n = int(seconds // 3600)
        return f"{n} hour{'s' if n != 1 else ''}"
    if seconds >= 60 and seconds % 60 == 0:
        n = int(seconds // 60)
        return f"{n} minute{'s' if n != 1 else ''}"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"


def _size(n: float) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.1f} MB"


def decide(probe: dict, spec: VideoSpec) -> Decision:
    video, audio = probe.get("video"), probe.get("audio")
    who = f"{spec.display} lets {spec.who} post" if spec.who else f"{spec.display} takes"
    if not video or not video.get("width"):
        return _refuse("video_unreadable", "The file has no video stream Pushwire could read "
                       f"(it was read as {probe.get('format')}); check that it plays and push it again.")
    duration = probe.get("duration")
    if duration is None:
        return _refuse("video_unreadable", "The file's duration could not be read; check that it plays.")
    if spec.max_seconds is not None and duration > spec.max_seconds:
        return _refuse("video_too_long", f"{who} videos of at most {span(spec.max_seconds)}; "
                                          f"this one lasts {clock(duration)}.")
    if duration < spec.min_seconds:
        return _refuse("video_too_short", f"{who} videos of at least {span(spec.min_seconds)}; "
                                           f"this one lasts {duration:g} seconds.")
    width, height = video["width"], video["height"]
    ratio = width / height
    if spec.aspect and not (spec.aspect[0] - 1e-3 <= ratio <= spec.aspect[1] + 1e-3):
        return _refuse("video_aspect_ratio", f"{spec.display} takes videos between {_ratio(spec.aspect[0])} and "
                                             f"{_ratio(spec.aspect[1])} (width:height); this one is {width}x{height}.")
    if min(width, height) < spec.min_side:
        return _refuse("video_too_small", f"{spec.display} takes videos of at least {spec.min_side}x{spec.min_side} "
                                          f"pixels; this one is {width}x{height}.")

    why: list[str] = []
    video_ok = _video_fits(video, spec, why)
    audio_ok = _audio_fits(audio, spec, why)
    container_ok = probe.get("format") in spec.containers
    if not container_ok:
        why.append(f"{spec.display} does not take the {probe.get('format')} container")
    size_ok = probe.get("size", 0) <= spec.max_bytes
    if not size_ok:
        why.append(f"{_size(probe['size'])} is over {spec.display}'s {_size(spec.max_bytes)}")
    if video_ok and audio_ok and container_ok and size_ok:
        return Decision("pass", ["the file already fits " + spec.display])
    if video_ok and audio_ok and size_ok:
        return Decision("remux", why, plan={"video": "copy", "audio": "copy" if audio else "none"})
    plan = _plan(probe, spec, video_ok and size_ok, audio_ok)
    if plan is None:
        return _refuse("video_too_large", f"{spec.display} takes videos of at most {_size(spec.max_bytes)}; "
                                          f"this one cannot be made that small at a watchable bitrate "
                                          f"({clock(duration)} long).")
    return Decision("transcode", why, plan=plan)


def _ratio(value: float) -> str:
    return f"{value:g}:1" if value >= 1 else f"1:{1 / value:g}"


def _refuse(reason: str, info: str) -> Decision:
    return Decision("refuse", [info], reason=reason, info=info)


def _video_fits(video: dict, spec: VideoSpec, why: list[str]) -> bool:
    ok = True
    if spec.video_codecs is not None and video.get("codec") not in spec.video_codecs:
        why.append(f"{spec.display} does not take {video.get('codec')} video")
        ok = False
    if spec.pix_fmts is not None and video.get("pix_fmt") not in spec.pix_fmts:
        why.append(f"{spec.display} takes only 4:2:0 pixels, not {video.get('pix_fmt')}")
        ok = False
    if spec.progressive and video.get("interlaced"):
        why.append(f"{spec.display} takes only progressive video; this one is interlaced")
        ok = False
    if spec.max_box and not _in_box(video["width"], video["height"], spec.max_box):
        why.append(f"{video['width']}x{video['height']} is larger than {spec.display}'s "
                   f"{spec.max_box[0]}x{spec.max_box[1]}")
        ok = False
    if spec.max_fps and (video.get("fps") or 0) > spec.max_fps + 0.01:
        why.append(f"{video.get('fps'):g} fps is over {spec.display}'s {spec.max_fps:g}")
        ok = False
    if spec.square_pixels and video.get("sar") not in (None, "1:1", "0:1"):
        why.append(f"{spec.display} takes only square pixels; this video's are {video.get('sar')}")
        ok = False
    if spec.max_box and video.get("rotation"):
        # X and Pinterest apply no rotation metadata reliably: rotate the pixels.
        why.append(f"the video is stored rotated by {video['rotation']} degrees")
        ok = False
    return ok


def _audio_fits(audio: dict | None, spec: VideoSpec, why: list[str]) -> bool:
    if audio is None or spec.audio_codecs is None:
        return True
    ok = True
    if audio.get("codec") not in spec.audio_codecs:
        why.append(f"{spec.display} does not take {audio.get('codec')} audio")
        ok = False
    elif audio.get("profile") in spec.audio_profiles_refused:
        why.append(f"{spec.display} takes AAC-LC audio, not {audio.get('profile')}")
        ok = False
    if spec.max_channels and (audio.get("channels") or 0) > spec.max_channels:
        why.append(f"{spec.display} takes mono or stereo audio, not {audio.get('channels')} channels")
        ok = False
    return ok


def _in_box(width: int, height: int, box: tuple[int, int]) -> bool:
    return max(width, height) <= box[0] and min(width, height) <= box[1]


def _plan(probe: dict, spec: VideoSpec, copy_video: bool, audio_ok: bool) -> dict | None:
    """How to encode: target size, frame rate and bitrate cap."""
    video, audio, duration = probe["video"], probe.get("audio"), max(probe["duration"], 0.1)
    width, height = _fit(video["width"], video["height"], spec.max_box, video.get("sar"))
    fps = video.get("fps") or 30.0
    if spec.max_fps and fps > spec.max_fps:
        fps = spec.max_fps
    budget = spec.max_bytes * 8 * 0.95 / duration - (AUDIO_BITRATE if audio else 0)
    maxrate = int(min(MAX_VIDEO_BITRATE, budget))
    if not copy_video and maxrate < MIN_VIDEO_BITRATE:
        return None
    plan = {"video": "copy" if copy_video else "encode",
            "audio": "none" if audio is None else ("copy" if audio_ok else "encode"),
            "width": width, "height": height, "fps": round(fps, 3), "maxrate": maxrate}
    if audio is not None and not audio_ok:
        plan["channels"] = min(audio.get("channels") or 2, 2)
        rate = audio.get("sample_rate") or 48000
        plan["sample_rate"] = rate if rate in (44100, 48000) else 48000
    return plan


def _fit(width: int, height: int, box: tuple[int, int] | None, sar: str | None) -> tuple[int, int]:
    """Display size (square pixels) scaled into ``box``, even numbers (4:2:0 needs them)."""
    if sar and sar not in ("1:1", "0:1"):
        num, den = (int(x) for x in sar.split(":"))
        if num and den:
            width = width * num / den
    scale = 1.0
    if box and not _in_box(int(width), int(height), box):
        long_side, short_side = max(width, height), min(width, height)
        scale = min(box[0] / long_side, box[1] / short_side)
    return _even(width * scale), _even(height * scale)


def _even(value: float) -> int:
    return max(2, int(math.floor(value / 2)) * 2)
