"""Small real media for tests, made here (nothing downloaded, no system FFmpeg).

``make_clip(fmt)`` encodes a few seconds of test pattern and tone with the
FFmpeg of the ``imageio-ffmpeg`` wheel into one of the eight seed formats,
with codecs typical of that format (so most of them are not what X or
Pinterest take). ``make_picture(fmt)`` draws a picture with Pillow in one of
the five contract formats. Results are cached per process.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile

from PIL import Image, ImageDraw

from sandbox.samples import ffmpeg, lavfi_sources

VIDEO_FORMATS = ("3gpp", "avi", "flv", "mov", "mpeg4", "mpegps", "webm", "wmv")
PICTURE_FORMATS = ("jpeg", "bmp", "png", "gif", "tiff")

#: Per seed format: (container muxer, codec arguments, frame size). 3GPP uses H.263
#: (which needs 176x144), AVI MPEG-4 Part 2 + MP3, FLV Sorenson + MP3, MOV H.264 +
#: AAC, MPEG-4 H.264 + AAC, MPEG-PS MPEG-2 + MP2, WebM VP8 + Vorbis, WMV WMV2 + WMA2.
SEED_CODECS = {
    "3gpp": ("3gp", ["-c:v", "h263", "-c:a", "aac", "-ar", "22050"], "176x144"),
    "avi": ("avi", ["-c:v", "mpeg4", "-q:v", "8", "-c:a", "libmp3lame", "-ar", "22050"], "128x96"),
    "flv": ("flv", ["-c:v", "flv1", "-q:v", "8", "-c:a", "libmp3lame", "-ar", "22050"], "128x96"),
    "mov": ("mov", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"], "128x96"),
    "mpeg4": ("mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                      "-movflags", "+faststart"], "128x96"),
    "mpegps": ("mpeg", ["-c:v", "mpeg2video", "-q:v", "8", "-c:a", "mp2", "-ar", "44100"], "128x96"),
    "webm": ("webm", ["-c:v", "libvpx", "-b:v", "100k", "-deadline", "realtime", "-c:a", "libvorbis",
                      "-ar", "44100"], "128x96"),
    "wmv": ("asf", ["-c:v", "wmv2", "-q:v", "8", "-c:a", "wmav2", "-ar", "22050"], "128x96"),
}


@functools.lru_cache(maxsize=None)
def make_clip(fmt: str, seconds: float = 4.5, size: str | None = None, fps: float = 10,
              extra: tuple = (), muxer: str | None = None, codecs: tuple | None = None,
              channels: int = 1) -> bytes:
    """A clip of ``seconds`` in seed format ``fmt`` (``codecs``/``size``/``muxer`` override)."""
    default_muxer, default_codecs, default_size = SEED_CODECS[fmt]
    with tempfile.TemporaryDirectory(prefix="pushwire-clip-") as tmp:
        out = os.path.join(tmp, "clip")
        ffmpeg(*lavfi_sources(seconds, size or default_size, fps, channels=channels),
               *(codecs if codecs is not None else default_codecs), *extra, "-shortest",
               "-f", muxer or default_muxer, out)
        with open(out, "rb") as fh:
            return fh.read()


@functools.lru_cache(maxsize=None)
def make_picture(fmt: str, size: tuple[int, int] = (120, 80), animated: bool = False, noise: bool = False) -> bytes:
    """A picture in ``fmt`` (PIL format names: jpeg, bmp, png, gif, tiff)."""
    frames = []
    for i in range(3 if animated else 1):
        img = Image.new("RGB", size, (30 + 60 * i, 120, 200))
        draw = ImageDraw.Draw(img)
        draw.rectangle([size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2], fill=(250, 200, 40))
        draw.text((4, 4), f"pw{i}", fill=(0, 0, 0))
        if noise:
            img = Image.merge("RGB", [Image.effect_noise(size, 80).convert("L")] * 3)
        frames.append(img)
    buf = io.BytesIO()
    if animated:
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    else:
        frames[0].save(buf, fmt.upper() if fmt != "jpeg" else "JPEG")
    return buf.getvalue()
