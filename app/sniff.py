"""File formats decided by content, not by name or Content-Type.

Read the first ``SNIFF_BYTES`` bytes of a file and ask::

    fmt = detect_video_format(head)      # "mpeg4", "webm", ... or None
    mime = video_mime_type(fmt)          # "video/mp4"
    detect_image_format(head)            # "jpeg", "png", ... or None
"""
from __future__ import annotations

VIDEO_FORMATS = ("3gpp", "avi", "flv", "mov", "mpeg4", "mpegps", "webm", "wmv")
IMAGE_FORMATS = ("jpeg", "bmp", "png", "gif", "tiff", "webp")
SNIFF_BYTES = 64

_VIDEO_MIME = {
    "3gpp": "video/3gpp", "avi": "video/x-msvideo", "flv": "video/x-flv", "mov": "video/quicktime",
    "mpeg4": "video/mp4", "mpegps": "video/mpeg", "webm": "video/webm", "wmv": "video/x-ms-wmv",
}
_IMAGE_MIME = {"jpeg": "image/jpeg", "bmp": "image/bmp", "png": "image/png", "gif": "image/gif",
               "tiff": "image/tiff", "webp": "image/webp"}

_ASF_GUID = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C")
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip")
# ISO BMFF brands of files that are not videos: still images and audio-only
# MP4. Every other brand (known or not) is taken as MPEG-4 video.
_NOT_VIDEO_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"avif", b"M4A ", b"M4B ", b"M4P ")
_BMP_DIB_SIZES = (12, 16, 40, 52, 56, 64, 108, 124)


def detect_video_format(head: bytes) -> str | None:
    """The video format (one of VIDEO_FORMATS) of a file starting with ``head``, or None."""
    if head[4:8] == b"ftyp":
        return _ftyp_format(head[8:12])
    if head[4:8] in _QUICKTIME_ATOMS:
        return "mov"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"FLV\x01":
        return "flv"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"  # EBML: WebM or Matroska, which the same demuxers read
    if head[:16] == _ASF_GUID:
        return "wmv"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpegps"  # pack header, or a bare MPEG-1/2 video sequence header
    return None


def _ftyp_format(brand: bytes) -> str | None:
    if len(brand) < 4 or brand in _NOT_VIDEO_BRANDS:
        return None
    if brand[:3] in (b"3gp", b"3g2"):
        return "3gpp"
    if brand == b"qt  ":
        return "mov"
    return "mpeg4"


def detect_image_format(head: bytes) -> str | None:
    """The image format (one of IMAGE_FORMATS) of a file starting with ``head``, or None."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"  # classic and BigTIFF, both byte orders
    if _is_bmp(head):
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _is_bmp(head: bytes) -> bool:
    # "BM" alone matches text ("BMW ..."), so also require zero reserved
    # fields and a known DIB header size.
    return (head[:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00"
            and int.from_bytes(head[14:18], "little") in _BMP_DIB_SIZES)


def video_mime_type(fmt: str) -> str:
    """MIME type for a value of VIDEO_FORMATS, e.g. "video/mp4" for "mpeg4"; ValueError otherwise."""
    try:
        return _VIDEO_MIME[fmt]
    except KeyError:
        raise ValueError(f"unknown video format {fmt!r}; expected one of {VIDEO_FORMATS}") from None


def image_mime_type(fmt: str) -> str:
    """MIME type for a value of IMAGE_FORMATS, e.g. "image/jpeg"; ValueError otherwise."""
    try:
        return _IMAGE_MIME[fmt]
    except KeyError:
        raise ValueError(f"unknown image format {fmt!r}; expected one of {IMAGE_FORMATS}") from None
