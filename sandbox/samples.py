"""Real, playable sample videos of any size, made by the FFmpeg the project
installs (``imageio-ffmpeg``): nothing is downloaded.

``sample_clip()`` is a 4.2 s, 96x64, 10 fps H.264 (yuv420p) + AAC-LC MP4 with
its index first: it fits X, Facebook, Pinterest and YouTube as it is.
``padded_video(size, seed)`` is that clip followed by one top-level ``free``
box of pseudo-random filler up to ``size`` bytes, so a test or a benchmark gets
a file of exactly the size it wants that every demuxer still reads (players
skip ``free`` boxes); ``generate(size, seed)`` yields the same bytes in blocks
(constant memory for multi-gigabyte files).
"""

from __future__ import annotations

import functools
import hashlib
import os
import struct
import subprocess
import tempfile

BLOCK = 1024 * 1024


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str, timeout: float = 300) -> None:
    """Run the packaged FFmpeg on trusted, generated input (tests, samples)."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
                   check=True, timeout=timeout, stdin=subprocess.DEVNULL)


def lavfi_sources(seconds: float, size: str, fps: float, audio: bool = True, rate: int = 22050,
                  channels: int = 1) -> list[str]:
    """Input arguments of a test pattern (and a tone) ``seconds`` long."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps:g}:duration={seconds:g}"]
    if audio:
        layout = "mono" if channels == 1 else ("stereo" if channels == 2 else "5.1")
        args += ["-f", "lavfi", "-i",
                 f"sine=frequency=440:sample_rate={rate}:duration={seconds:g},"
                 f"aformat=channel_layouts={layout}"]
    return args


@functools.lru_cache(maxsize=None)
def sample_clip(seconds: float = 4.2) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pushwire-sample-") as tmp:
        out = os.path.join(tmp, "sample.mp4")
        ffmpeg(*lavfi_sources(seconds, "96x64", 10), "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", "-b:v", "40k", "-c:a", "aac", "-b:a", "24k",
               "-movflags", "+faststart", "-shortest", out)
        with open(out, "rb") as fh:
            return fh.read()


def _free_header(length: int) -> bytes:
    """A ``free`` box header for ``length`` bytes in all (64-bit size past 4 GiB)."""
    if length < 2**32:
        return struct.pack(">I4s", length, b"free")
    return struct.pack(">I4sQ", 1, b"free", length)


def generate(size: int, seed: int = 0, block: int = BLOCK):
    """Yield a padded sample video of ``size`` bytes in pieces of about ``block``."""
    clip = sample_clip()
    if size < len(clip) + 16:
        yield clip  # smaller than the clip: the clip itself (the size cannot be met)
        return
    rest = size - len(clip)
    header = _free_header(rest) if rest < 2**32 else _free_header(rest)
    filler = hashlib.sha256(str(seed).encode()).digest() * (block // 32)
    first = clip + header
    yield first
    left = size - len(first)
    while left > 0:
        piece = filler[:left]
        left -= len(piece)
        yield piece


def padded_video(size: int, seed: int = 0) -> bytes:
    return b"".join(generate(size, seed))
