"""Fetching small media (pictures, thumbnails) for adapters, safely and bounded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from app.net import TransferTimeout, UnsafeURLError, download_transfer, iter_bounded, safe_get
from app.providers.errors import InvalidInput, TransientError
from app.sniff import detect_image_format

if TYPE_CHECKING:
    from app.runtime import Runtime


def download_image(rt: Runtime, url: str, max_bytes: int) -> tuple[bytes, str]:
    """GET ``url`` through the SSRF-safe client; return (bytes, image format).

    Refuses (InvalidInput, permanent) private addresses, 4xx answers, files over
    ``max_bytes`` and anything that is not a jpeg/png/gif/webp/bmp/tiff by content.
    Network trouble and 5xx are TransientError (the stage retries).
    """
    with download_transfer(rt.settings, max_bytes, "the picture URL") as transfer:
        return _download_image(rt, url, max_bytes, transfer)


def _download_image(rt: Runtime, url: str, max_bytes: int, transfer) -> tuple[bytes, str]:
    try:
        resp = safe_get(url, policy=rt.policy, stream=True, transfer=transfer,
                        headers={"Accept-Encoding": "identity"})
    except UnsafeURLError as exc:
        raise InvalidInput(f"The picture URL was refused: {exc}", reason=exc.reason) from exc
    except TransferTimeout as exc:
        raise TransientError(f"Downloading the picture was given up: {exc}.", reason=exc.reason) from exc
    except requests.RequestException as exc:
        raise TransientError(f"Downloading the picture failed ({type(exc).__name__}).",
                             reason="download_failed") from exc
    with resp:
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientError(f"The picture URL answered HTTP {resp.status_code}.", reason="download_failed")
        if resp.status_code >= 400:
            raise InvalidInput(f"The picture URL answered HTTP {resp.status_code}; make sure it is public.",
                               reason="source_unavailable")
        data = bytearray()
        try:
            for chunk in iter_bounded(resp, transfer, 64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    raise InvalidInput(f"The picture is larger than {max_bytes // (1024 * 1024)} MB.",
                                       reason="picture_too_large")
        except TransferTimeout as exc:
            raise TransientError(f"Downloading the picture was given up: {exc}.", reason=exc.reason) from exc
        except requests.RequestException as exc:
            raise TransientError(f"Downloading the picture failed ({type(exc).__name__}).",
                                 reason="download_failed") from exc
    fmt = detect_image_format(bytes(data[:64]))
    if fmt is None:
        raise InvalidInput("The file at the picture URL is not a jpeg, png, gif, webp, bmp or tiff image.",
                           reason="unsupported_picture_format")
    return bytes(data), fmt
