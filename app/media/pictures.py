"""Pictures made acceptable to a network, with Pillow.

``prepare_picture(data, fmt, spec)`` returns ``(bytes, format, note)``:

* a format the network takes, within its size and pixel limits, passes
  unchanged (``note`` None);
* BMP, TIFF (and GIF where refused) become PNG, or JPEG when the PNG would
  be over the network's size limit (photographs); transparency keeps PNG;
* an animated GIF stays an animated GIF where the network takes GIFs (too
  large: refused, since re-timing frames is not ours to decide); elsewhere its
  first frame is used and the note says so;
* oversize pictures are scaled down (keeping the aspect ratio) until they fit.

Pillow refuses decompression bombs. A file Pillow cannot read is refused with
``unsupported_picture_format`` when it would need converting; one already in a
format and size the network takes goes as it is (the network judges it).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from app.media.specs import PictureSpec
from app.providers.errors import InvalidInput

#: Pixels Pillow decodes at most (a 5 MB file cannot hold a sane picture larger).
MAX_PIXELS = 80_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def inspect(data: bytes) -> dict:
    """Format, size, mode and animation of a picture (for the audit)."""
    with _open(data) as img:
        return {"format": (img.format or "").lower(), "width": img.width, "height": img.height,
                "mode": img.mode, "animated": bool(getattr(img, "is_animated", False)),
                "frames": int(getattr(img, "n_frames", 1))}


def prepare_picture(data: bytes, fmt: str, spec: PictureSpec) -> tuple[bytes, str, str | None]:
    try:
        info = inspect(data)
    except InvalidInput:
        if fmt in spec.formats and len(data) <= spec.max_bytes:
            return data, fmt, None  # nothing to convert: the network judges what Pillow cannot read
        raise
    pixels = info["width"] * info["height"]
    fits_pixels = spec.max_pixels is None or pixels <= spec.max_pixels
    if fmt in spec.formats and len(data) <= spec.max_bytes and fits_pixels:
        if not (fmt == "gif" and info["animated"] and not spec.animated_gif):
            return data, fmt, None
    if fmt == "gif" and info["animated"] and spec.animated_gif and "gif" in spec.formats:
        raise InvalidInput(f"{spec.display} takes animated GIFs of at most {spec.max_bytes // 1024**2} MB; "
                           f"this one is {len(data) / 1024**2:.1f} MB.", reason="picture_too_large")
    with _open(data) as img:
        img.seek(0)
        frame = ImageOps.exif_transpose(img.convert("RGBA") if _has_alpha(img) else img.convert("RGB"))
    out, out_fmt = _encode_within(frame, spec)
    note = f"converted from {fmt.upper()} to {out_fmt.upper()} for {spec.display}"
    if info["animated"]:
        note += f" (first frame of {info['frames']}: {spec.display}'s API takes no animated {fmt.upper()})"
    if (frame.width, frame.height) != (info["width"], info["height"]) or _scaled(out, info):
        note += f", scaled down from {info['width']}x{info['height']}"
    return out, out_fmt, note


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError) as exc:
        raise InvalidInput(f"The picture could not be read ({exc}).", reason="unsupported_picture_format") from exc


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def _scaled(out: bytes, info: dict) -> bool:
    with Image.open(io.BytesIO(out)) as img:
        return (img.width, img.height) != (info["width"], info["height"])


def _encode_within(img: Image.Image, spec: PictureSpec) -> tuple[bytes, str]:
    """PNG if it fits (keeps transparency and sharp edges), else JPEG; scale down
    by 0.8 per step until the bytes and pixels fit."""
    while True:
        if spec.max_pixels and img.width * img.height > spec.max_pixels:
            img = _shrink(img, (spec.max_pixels / (img.width * img.height)) ** 0.5)
            continue
        png = _save(img, "PNG", optimize=True) if "png" in spec.formats else None
        if png is not None and len(png) <= spec.max_bytes:
            return png, "png"
        if "jpeg" in spec.formats:
            jpeg = _save(img.convert("RGB"), "JPEG", quality=88, optimize=True)
            if len(jpeg) <= spec.max_bytes:
                return jpeg, "jpeg"
        if img.width <= 16 or img.height <= 16:
            raise InvalidInput(f"The picture cannot be made small enough for {spec.display}.",
                               reason="picture_too_large")
        img = _shrink(img, 0.8)


def _shrink(img: Image.Image, factor: float) -> Image.Image:
    size = (max(1, int(img.width * factor)), max(1, int(img.height * factor)))
    return img.resize(size, Image.LANCZOS)


def _save(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()
