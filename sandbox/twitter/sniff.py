"""Recognise media by their first bytes: image type and size, video container.

``sniff_image(data) -> (mime, width, height) | None`` for JPEG, PNG, GIF and WEBP
(width/height 0 when the header is cut short); ``looks_like_video(head)`` for an
MP4/MOV ``ftyp`` box. Both read only the bytes given.
"""

from __future__ import annotations

import struct


def sniff_image(data: bytes) -> tuple[str, int, int] | None:
    """The image MIME type and dimensions of ``data``, or None if it is no image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        w, h = struct.unpack(">II", data[16:24]) if len(data) >= 24 else (0, 0)
        return "image/png", w, h
    if data[:6] in (b"GIF87a", b"GIF89a"):
        w, h = struct.unpack("<HH", data[6:10]) if len(data) >= 10 else (0, 0)
        return "image/gif", w, h
    if data.startswith(b"\xff\xd8\xff"):
        return ("image/jpeg", *_jpeg_size(data))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ("image/webp", *_webp_size(data))
    return None


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Walk JPEG segments to the first SOFn marker, which holds height and width."""
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return 0, 0
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return w, h
        pos += 2 + length
    return 0, 0


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return 0, 0


#: First box types of MP4/M4V (``ftyp``) and of older QuickTime files.
VIDEO_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")


def looks_like_video(head: bytes) -> bool:
    """True when ``head`` starts with an ISO-BMFF / QuickTime box (MP4, MOV, M4V)."""
    return len(head) >= 8 and head[4:8] in VIDEO_BOXES


def is_animated_gif(data: bytes) -> bool:
    """More than one frame: each frame of an animation has a graphic control extension."""
    return data[:6] in (b"GIF87a", b"GIF89a") and data.count(b"\x21\xf9\x04") > 1
