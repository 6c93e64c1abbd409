"""Staging storage for downloaded media: ``open_store(url)`` picks the backend.

* ``file:///abs/path`` (or ``file://./rel/path``, relative to the current
  directory): a local or mounted directory, see ``LocalStagingStore``.
* ``s3://bucket/prefix``: an S3-protocol bucket (AWS, MinIO, moto), see
  ``S3StagingStore``.

Nothing connects at import time; the S3 client is created on first use.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from .base import StagedObjectMissing, StagingError, StagingStore, validate_key

__all__ = [
    "StagedObjectMissing",
    "StagingError",
    "StagingStore",
    "open_store",
    "validate_key",
]


def open_store(
    url: str,
    *,
    s3_endpoint_url: str | None = None,
    s3_region: str | None = None,
    s3_access_key_id: str | None = None,
    s3_secret_access_key: str | None = None,
    chunk_size: int = 8 * 1024 * 1024,
    max_concurrency: int = 4,
    create_bucket: bool = False,
) -> StagingStore:
    """Return the staging store for ``url``.

    ``s3_*`` settings apply only to ``s3://`` URLs (credentials and region
    fall back to boto3's default chain when None). ``chunk_size`` and
    ``max_concurrency`` size S3 multipart uploads; ``create_bucket=True``
    creates a missing bucket (tests, demo). Raises ValueError for an
    unsupported or malformed URL.
    """
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "file":
        from .local import LocalStagingStore

        return LocalStagingStore(_file_url_path(url))
    if scheme == "s3":
        from .s3 import S3StagingStore

        bucket, prefix = _s3_url_parts(url)
        return S3StagingStore(
            bucket,
            prefix,
            endpoint_url=s3_endpoint_url,
            region=s3_region,
            access_key_id=s3_access_key_id,
            secret_access_key=s3_secret_access_key,
            chunk_size=chunk_size,
            max_concurrency=max_concurrency,
            create_bucket=create_bucket,
        )
    raise ValueError(f"unsupported staging URL {url!r}: expected file:// or s3://")


def _file_url_path(url: str) -> str:
    """Map ``file:///abs``, ``file://localhost/abs`` and ``file://./rel`` to a path."""
    rest = url[len("file:"):]
    if not rest.startswith("//"):
        raise ValueError(f"malformed file URL {url!r}: expected file:///absolute/path")
    rest = rest[2:].split("?", 1)[0].split("#", 1)[0]
    if rest.startswith("localhost/"):
        rest = rest[len("localhost"):]
    path = unquote(rest)
    if not path or path in (".", "./"):
        path = "."
    # Anything not starting with "/" is relative to the current directory,
    # resolved now so a later chdir does not move the store.
    return os.path.abspath(path)


def _s3_url_parts(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into (bucket, prefix without slashes)."""
    parts = urlsplit(url)
    bucket = parts.netloc
    if not bucket or "@" in bucket or ":" in bucket:
        raise ValueError(f"malformed S3 URL {url!r}: expected s3://bucket/prefix")
    prefix = unquote(parts.path).strip("/")
    if prefix:
        validate_key(prefix)
    return bucket, prefix
