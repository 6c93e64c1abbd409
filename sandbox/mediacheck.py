"""The fakes' codec judgement: probe the bytes a fake received, as the network's
processing would, and say what it would refuse.

X (``judge_x``): MP4/MOV only, H.264 in 4:2:0, 32x32 to 1280x1024 (either
orientation), at most 60 fps, square pixels, AAC-LC (not HE-AAC) mono or
stereo, 0.5 s or longer (media best practices; the length cap applies at
``POST /2/tweets``). Pinterest (``judge_pinterest``): MP4/MOV/M4V with H.264 or
H.265 and AAC, 4 s to 15 min. A refusal message is what processing reports
(X: ``InvalidMedia``; Pinterest: ``failed``).

This is the sandbox's own reading of FFmpeg's report (run on the FFmpeg that
``imageio-ffmpeg`` installs), written apart from Pushwire's ``app.media`` so a
mistake there is not shared by the judge. ``Spool`` keeps a received file on
disk (not in memory) until it is judged, then removes it.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import weakref

from sandbox.common import DigestSink

_STREAM = re.compile(r"Stream #0:\d+\S*: (Video|Audio): (.*)")
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_BRANDS_3GP = (b"3gp", b"3g2")


class Spool:
    """A received file on disk, appended piece by piece (no handle held between
    pieces); removed when judged, or when the Spool is dropped (media never finalized)."""

    def __init__(self):
        fd, self.path = tempfile.mkstemp(prefix="sandbox-media-")
        os.close(fd)
        self._cleanup = weakref.finalize(self, _unlink, self.path)

    def write(self, data) -> None:
        with open(self.path, "ab") as fh:
            fh.write(data)

    def close(self) -> None:
        pass

    def remove(self) -> None:
        self._cleanup()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class SpoolingSink(DigestSink):
    """A DigestSink that also keeps every byte in a Spool (for judging)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spool = Spool()

    def write(self, data: bytes) -> int:
        self.spool.write(data)
        return super().write(data)


def probe(path: str) -> dict:
    """``{"ok", "container", "brand", "duration", "video": {...}, "audio": {...}}`` of a file."""
    import imageio_ffmpeg

    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin",
                          "-protocol_whitelist", "file", "-i", path],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    log = out.stderr
    found = re.search(r"Input #0, (\S+), from", log)
    with open(path, "rb") as fh:
        head = fh.read(12)
    info: dict = {"ok": bool(found), "container": found.group(1).rstrip(",") if found else None,
                  "brand": head[8:12].decode("latin-1") if head[4:8] == b"ftyp" else None,
                  "duration": None, "video": None, "audio": None}
    dur = _DURATION.search(log)
    if dur:
        info["duration"] = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3))
    for kind, desc in _STREAM.findall(log):
        key = kind.lower()
        if info[key] is None:
            info[key] = _stream(kind, desc)
    return info


def _stream(kind: str, desc: str) -> dict:
    codec = desc.split(" ", 1)[0].rstrip(",")
    profile = re.match(r"\S+ \(([^)/]+)\)", desc)
    out = {"codec": codec, "profile": profile.group(1) if profile else None}
    if kind == "Video":
        size = re.search(r", (\d+)x(\d+)", desc)
        plain = desc
        while re.search(r"\([^()]*\)", plain):
            plain = re.sub(r"\([^()]*\)", "", plain)
        parts = [p.strip() for p in plain.split(",")]
        fps = re.search(r"([\d.]+) fps", desc)
        sar = re.search(r"SAR (\d+:\d+)", desc)
        out.update(width=int(size.group(1)) if size else 0, height=int(size.group(2)) if size else 0,
                   pix_fmt=parts[1] if len(parts) > 1 else None,
                   fps=float(fps.group(1)) if fps else None, sar=sar.group(1) if sar else "1:1",
                   interlaced=any(w in desc for w in ("top first", "bottom first")))
    else:
        rate = re.search(r"(\d+) Hz", desc)
        out.update(sample_rate=int(rate.group(1)) if rate else None,
                   channels=1 if ", mono" in desc else 2 if ", stereo" in desc else 6)
    return out


def _is_mp4_or_mov(info: dict) -> bool:
    brand = (info.get("brand") or "").encode("latin-1")
    return bool(info["container"] and info["container"].startswith("mov,mp4")) and brand[:3] not in _BRANDS_3GP


def judge_x(path: str) -> tuple[str | None, dict]:
    """(refusal message or None, probe) as X's video processing would judge the file."""
    info = probe(path)
    v, a = info["video"], info["audio"]
    if not info["ok"] or not v:
        return "Unsupported video format", info
    if not _is_mp4_or_mov(info):
        return f"Unsupported container ({info['container']}); use MP4 or MOV", info
    if v["codec"] != "h264":
        return f"Unsupported video codec {v['codec']}; use H.264", info
    if v["pix_fmt"] not in ("yuv420p", "yuvj420p"):
        return f"Unsupported pixel format {v['pix_fmt']}; only YUV 4:2:0 is supported", info
    if v["interlaced"]:
        return "Interlaced video is not supported", info
    w, h = v["width"], v["height"]
    if min(w, h) < 32 or max(w, h) > 1280 or min(w, h) > 1024:
        return f"Video dimensions {w}x{h} are outside 32x32 to 1280x1024", info
    if v["fps"] and v["fps"] > 60.01:
        return f"Frame rate {v['fps']} is over 60 fps", info
    if v["sar"] not in ("1:1", "0:1"):
        return f"Pixel aspect ratio {v['sar']} is not 1:1", info
    if not (1 / 3 - 1e-3 <= w / h <= 3 + 1e-3):
        return f"Aspect ratio {w}:{h} is outside 1:3 to 3:1", info
    if (info["duration"] or 0) < 0.5:
        return "Video is shorter than 0.5 seconds", info
    if a:
        if a["codec"] != "aac" or (a["profile"] or "LC") != "LC":
            return f"Unsupported audio {a['codec']} {a['profile'] or ''}".strip() + "; use AAC-LC", info
        if a["channels"] > 2:
            return "Audio must be mono or stereo", info
    return None, info


def judge_pinterest(path: str) -> tuple[str | None, dict]:
    """(failure message or None, probe) as Pinterest's video processing would judge the file."""
    info = probe(path)
    v, a = info["video"], info["audio"]
    if not info["ok"] or not v or not _is_mp4_or_mov(info):
        return "Video file format not supported; upload an MP4, MOV or M4V.", info
    if v["codec"] not in ("h264", "hevc"):
        return f"Video codec {v['codec']} not supported; use H.264 or H.265.", info
    if a and a["codec"] != "aac":
        return f"Audio codec {a['codec']} not supported; use AAC.", info
    duration = info["duration"] or 0
    if duration < 4 or duration > 15 * 60:
        return f"Video length {duration:.1f} s is outside 4 seconds to 15 minutes.", info
    return None, info
