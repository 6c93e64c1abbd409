"""What each network accepts: one table, each number with its source.

``video_spec(provider, tier)`` and ``picture_spec(provider)`` are what the
decision (``app.media.decide``) and the picture conversion read. Sources are
named in ``SOURCES`` and shown in the README's formats table; "(unconfirmed)"
marks a number that rests on third-party guides rather than the network's docs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GB = 1024**3
MB = 1024**2

SOURCES = {
    "x-best-practices": "X developer docs, media best practices (video: H.264 High, yuv420p, AAC-LC mono/stereo, "
                        "32x32..1280x1024, <= 60 fps, aspect 1:3..3:1, square pixels, progressive, no open GOP)",
    "x-media-type": "X API v2 OpenAPI spec: initialize media_type enum video/mp4, video/webm, video/mp2t, "
                    "video/quicktime; images JPEG, PNG, GIF, WEBP <= 5 MB",
    "x-post-limits": "X media best practices (2026): Post video follows the posting user: default 0.5 s-20 min and "
                     "8 GB; X Premium / verified 0.5 s-125 min and 16 GB",
    "meta-video": "Meta Business Help Center, supported video file formats (3g2, 3gp, 3gpp, asf, avi, dat, divx, "
                  "dv, f4v, flv, m2ts, m4v, mkv, mod, mov, mp4, mpe, mpeg, mpeg4, mpg, mts, nsv, ogm, ogv, qt, tod, "
                  "ts, vob, wmv); Page videos up to 240 min; Graph API chunked upload refuses > 2 GB (subcode 1363023)",
    "meta-photo": "Graph API /photos: JPG or PNG under 4 MB (subcode 1366046) (unconfirmed: other formats)",
    "youtube-formats": "YouTube Help 'Supported YouTube file formats' (MOV, MPEG-1, MPEG-2, MPEG4, MP4, MPG, AVI, WMV, "
                       "MPEGPS, FLV, 3GPP, WebM, DNxHR, ProRes, CineForm, HEVC); 256 GB or 12 h per video",
    "pinterest-video": "Pinterest Help 'Video Pins' creative specs: .mp4, .mov or .m4v, H.264 or H.265, 4 s-15 min, "
                       "2 GB, aspect taller than 1.91:1 and shorter than 1:2; API v5 openapi: other containers "
                       "fail processing",
    "pinterest-image": "Pinterest API v5 openapi: image_base64 content_type image/jpeg or image/png; 20 MB "
                       "(unconfirmed)",
    "linkedin-image": "LinkedIn Images API: JPG, PNG, GIF; < 36,152,320 pixels; 5 MB in third-party guides "
                      "(unconfirmed)",
    "pushwire-contract": "Pushwire's API contract: pictures at most 5 MB",
}


@dataclass(frozen=True)
class VideoSpec:
    network: str
    display: str
    #: Sniffed formats (app.sniff.VIDEO_FORMATS) the network takes as they are.
    containers: frozenset
    #: Codecs it takes; None: any (the network transcodes what it receives).
    video_codecs: frozenset | None = None
    pix_fmts: frozenset | None = None
    audio_codecs: frozenset | None = None
    #: Audio profiles refused (HE-AAC for X).
    audio_profiles_refused: frozenset = frozenset()
    max_channels: int | None = None
    min_seconds: float = 0.0
    max_seconds: float | None = None
    #: Bounding box (long side, short side) in pixels; None: no limit.
    max_box: tuple[int, int] | None = None
    min_side: int = 0
    max_fps: float | None = None
    #: width / height bounds.
    aspect: tuple[float, float] | None = None
    square_pixels: bool = False
    progressive: bool = False
    max_bytes: int = 2 * GB
    sources: tuple = field(default=())
    #: Which words to use in refusals ("this account" for X's per-user limits).
    who: str = ""


X_TIERS = {
    # tier -> (max seconds, max bytes)
    "default": (20 * 60, 8 * GB),
    "premium": (125 * 60, 16 * GB),
}

_X = dict(
    network="twitter", display="X", containers=frozenset({"mpeg4", "mov"}),
    video_codecs=frozenset({"h264"}), pix_fmts=frozenset({"yuv420p", "yuvj420p"}),
    audio_codecs=frozenset({"aac"}), audio_profiles_refused=frozenset({"HE-AAC", "HE-AACv2"}), max_channels=2,
    min_seconds=0.5, max_box=(1280, 1024), min_side=32, max_fps=60.0, aspect=(1 / 3, 3.0),
    square_pixels=True, progressive=True, sources=("x-best-practices", "x-media-type", "x-post-limits"),
    who="this account",
)

VIDEO_SPECS = {
    "facebook": VideoSpec(
        network="facebook", display="Facebook",
        containers=frozenset({"3gpp", "avi", "flv", "mov", "mpeg4", "mpegps", "webm", "wmv"}),
        max_seconds=240 * 60, max_bytes=2 * GB, sources=("meta-video",),
    ),
    "youtube": VideoSpec(
        network="youtube", display="YouTube",
        containers=frozenset({"3gpp", "avi", "flv", "mov", "mpeg4", "mpegps", "webm", "wmv"}),
        max_seconds=12 * 3600, max_bytes=256 * GB, sources=("youtube-formats",),
    ),
    "pinterest": VideoSpec(
        network="pinterest", display="Pinterest", containers=frozenset({"mpeg4", "mov"}),
        video_codecs=frozenset({"h264", "hevc"}), pix_fmts=frozenset({"yuv420p", "yuvj420p"}),
        audio_codecs=frozenset({"aac"}), max_channels=2, min_seconds=4.0, max_seconds=15 * 60,
        aspect=(1 / 2, 1.91), max_bytes=2 * GB, sources=("pinterest-video",),
    ),
}


def video_spec(provider: str, tier: str = "default") -> VideoSpec | None:
    """The video limits of ``provider`` (for X, of the account ``tier``); None: not prepared."""
    if provider == "twitter":
        seconds, size = X_TIERS.get(tier, X_TIERS["default"])
        return VideoSpec(**_X, max_seconds=seconds, max_bytes=size)
    return VIDEO_SPECS.get(provider)


@dataclass(frozen=True)
class PictureSpec:
    network: str
    display: str
    #: Formats taken as they are (app.sniff.IMAGE_FORMATS names).
    formats: frozenset
    #: Animated GIFs stay animated (and GIF).
    animated_gif: bool
    max_bytes: int
    max_pixels: int | None = None
    sources: tuple = ()


PICTURE_SPECS = {
    "twitter": PictureSpec("twitter", "X", frozenset({"jpeg", "png", "gif", "webp"}), True, 5 * MB,
                           sources=("x-media-type",)),
    # under 4 MB: one byte less
    "facebook": PictureSpec("facebook", "Facebook", frozenset({"jpeg", "png"}), False, 4 * MB - 1,
                            sources=("meta-photo",)),
    "linkedin": PictureSpec("linkedin", "LinkedIn", frozenset({"jpeg", "png", "gif"}), True, 5 * MB,
                            max_pixels=36_152_319, sources=("linkedin-image",)),
    "pinterest": PictureSpec("pinterest", "Pinterest", frozenset({"jpeg", "png"}), False, 20 * MB,
                             sources=("pinterest-image",)),
}


def picture_spec(provider: str) -> PictureSpec | None:
    return PICTURE_SPECS.get(provider)
