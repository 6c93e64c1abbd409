"""What a staged video really is, read by FFmpeg (contained, see ``app.media.ffmpeg``).

``probe_video(path, fmt, head)`` returns a plain dict (kept in the request's
audit)::

    {"format": "avi", "demuxer": "avi", "duration": 12.5, "bitrate": 812000, "size": 1268000,
     "video": {"codec": "mpeg4", "profile": "Simple Profile", "pix_fmt": "yuv420p",
               "interlaced": False, "width": 640, "height": 360, "rotation": 0,
               "fps": 25.0, "sar": "1:1"},
     "audio": {"codec": "mp3", "profile": None, "sample_rate": 44100, "channels": 2}}

``video``/``audio`` describe the first stream of each kind (``None`` if absent);
width/height are as displayed (a 90° rotation swaps them). FFmpeg's stream
report (``av_dump_format``) is the source: the wheel pins the FFmpeg version,
and a test parses clips of every seed format.
"""

from __future__ import annotations

import os
import re
import tempfile

from app.media.ffmpeg import FFmpegError, Limits, demuxer_for, input_args, run

_INPUT = re.compile(r"^Input #0, ([^,]+(?:,[^,\s]+)*), from ", re.M)
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_BITRATE = re.compile(r"bitrate: (\d+) kb/s")
_STREAM = re.compile(r"^\s*Stream #0:(\d+)\S*: (Video|Audio|Subtitle|Data|Attachment): (.*)$")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6,
             "5.1(side)": 6, "6.1": 7, "7.1": 8}
_INTERLACED = ("top first", "bottom first", "top coded first", "bottom coded first")


class ProbeFailed(Exception):
    """FFmpeg could not read the file as the sniffed format; ``log`` says why."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


def probe_video(path: str, fmt: str, head: bytes = b"", *, limits: Limits | None = None) -> dict:
    """Probe ``path`` with the demuxer of ``fmt`` only."""
    demuxer = demuxer_for(fmt, head)
    limits = limits or Limits(cpu_seconds=30, output_bytes=1024 * 1024, wall_seconds=60)
    with tempfile.TemporaryDirectory(prefix="pushwire-probe-") as cwd:
        try:
            log = run(input_args(demuxer), path, cwd=cwd, limits=limits, log_tail=64 * 1024).log
        except FFmpegError as exc:
            if exc.why != "error":
                raise ProbeFailed(f"reading the file stopped: {exc}", exc.log) from exc
            log = exc.log  # "At least one output file must be specified": the probe's normal end
    info = parse_report(log)
    if info is None:
        raise ProbeFailed(f"FFmpeg could not read the file as {fmt}", log)
    info["format"], info["demuxer"], info["size"] = fmt, demuxer, os.path.getsize(path)
    return info


def parse_report(log: str) -> dict | None:
    """Parse FFmpeg's input report; None when it shows no input was opened."""
    found = _INPUT.search(log)
    if not found:
        return None
    report = log[found.start():]
    info: dict = {"container": found.group(1), "duration": None, "bitrate": None, "video": None, "audio": None,
                  "streams": 0}
    dur = _DURATION.search(report)
    if dur:
        info["duration"] = round(int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)), 3)
    rate = _BITRATE.search(report)
    if rate:
        info["bitrate"] = int(rate.group(1)) * 1000
    lines = report.splitlines()
    for i, line in enumerate(lines):
        stream = _STREAM.match(line)
        if not stream:
            continue
        info["streams"] += 1
        kind, desc = stream.group(2), stream.group(3)
        if kind == "Video" and info["video"] is None:
            info["video"] = _video(desc, _side_data(lines, i))
        elif kind == "Audio" and info["audio"] is None:
            info["audio"] = _audio(desc)
    return info


def _side_data(lines: list[str], i: int) -> str:
    """The indented lines under stream line ``i`` (metadata, side data)."""
    out = []
    for line in lines[i + 1:]:
        if _STREAM.match(line) or not line.startswith("      "):
            break
        out.append(line)
    return "\n".join(out)


def _split(desc: str) -> list[str]:
    """Split a stream description on top-level commas (parentheses hold commas too)."""
    parts, depth, cur = [], 0, []
    for ch in desc:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def _codec(part: str) -> tuple[str, str | None]:
    """``h264 (High) (avc1 / 0x31637661)`` -> ("h264", "High")."""
    name = part.split(" ", 1)[0]
    profile = None
    for extra in re.findall(r"\(([^()]*)\)", part):
        if "/" in extra or extra == name:
            continue
        profile = extra
        break
    return name, profile


def _video(desc: str, side: str) -> dict:
    parts = _split(desc)
    codec, profile = _codec(parts[0])
    out = {"codec": codec, "profile": profile, "pix_fmt": None, "interlaced": False, "width": None,
           "height": None, "rotation": 0, "fps": None, "sar": None}
    for part in parts[1:]:
        size = _SIZE.match(part)
        if size and out["width"] is None:
            out["width"], out["height"] = int(size.group(1)), int(size.group(2))
            sar = re.search(r"SAR (\d+:\d+)", part)
            out["sar"] = sar.group(1) if sar else out["sar"]
        elif part.startswith("SAR "):
            out["sar"] = part.split()[1]
        elif part.endswith(" fps"):
            out["fps"] = _number(part[:-4])
        elif out["pix_fmt"] is None and re.match(r"^[a-z][a-z0-9_]*(\(.*\))?$", part) and out["width"] is None:
            out["pix_fmt"] = part.split("(", 1)[0]
            out["interlaced"] = any(word in part for word in _INTERLACED)
    if out["fps"] is None:
        for part in parts:
            if part.endswith(" tbr"):
                out["fps"] = _number(part[:-4])
    rot = _ROTATION.search(side)
    if rot:
        # FFmpeg reports the display matrix's counter-clockwise angle; keep it as it says.
        out["rotation"] = int(round(float(rot.group(1)))) % 360
        if out["rotation"] in (90, 270) and out["width"]:
            out["width"], out["height"] = out["height"], out["width"]
    return out


def _audio(desc: str) -> dict:
    parts = _split(desc)
    codec, profile = _codec(parts[0])
    out = {"codec": codec, "profile": profile, "sample_rate": None, "channels": None}
    for part in parts[1:]:
        if part.endswith(" Hz"):
            out["sample_rate"] = int(_number(part[:-3]) or 0) or None
        elif part in _CHANNELS:
            out["channels"] = _CHANNELS[part]
        elif re.match(r"^(\d+) channels", part):
            out["channels"] = int(part.split()[0])
    return out


def _number(text: str) -> float | None:
    text = text.strip()
    mult = 1000 if text.endswith("k") else 1
    try:
        return round(float(text.rstrip("k")) * mult, 3)
    except ValueError:
        return None
