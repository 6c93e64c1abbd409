"""Staging store backed by an S3-protocol bucket (AWS S3, MinIO, moto, ...).

Uploads go through boto3's transfer manager as a multipart upload fed by a
bounded file-like adapter over the caller's chunk iterator; reads stream one
ranged GET and transparently re-open it from the current offset if the
connection drops.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import threading
import time
from typing import Iterable, Iterator

import boto3
import urllib3.exceptions
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    IncompleteReadError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from .base import (
    MIB,
    ChunkReader,
    Progress,
    ProgressFn,
    StagedObjectMissing,
    StagingError,
    StagingStore,
    check_chunk_size,
    check_range_args,
    read_exact,
    validate_key,
)

log = logging.getLogger(__name__)

#: S3 rejects multipart parts smaller than this (except the last one).
MIN_PART_SIZE = 5 * MIB

#: A dropped download is re-opened this many times in a row without progress
#: before giving up.
MAX_REOPENS = 5

_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_TRANSIENT_CODES = {
    "InternalError", "RequestTimeout", "RequestTimeTooSkewed", "ServiceUnavailable",
    "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
}
_PERMANENT_BOTO_ERRORS = (NoCredentialsError, PartialCredentialsError, ParamValidationError)

# What a dying connection looks like while reading a response body.
_STREAM_ERRORS = (
    ResponseStreamingError, IncompleteReadError, ReadTimeoutError, BotoConnectionError,
    urllib3.exceptions.HTTPError, http.client.HTTPException, OSError,
)


class S3StagingStore(StagingStore):
    """Store objects as ``<prefix>/<key>`` in an S3 bucket.

    Usually built by ``app.staging.open_store("s3://bucket/prefix", ...)``.
    Credentials and region default to boto3's usual chain when not given.
    ``chunk_size`` is the multipart part size (raised to S3's 5 MiB minimum)
    and ``max_concurrency`` the number of parts uploaded in parallel.

    Memory: the transfer manager reads parts ahead of the uploads, so a write
    holds at most about ``chunk_size * (max_concurrency + 1)`` bytes (the
    parts in flight plus the one being assembled, which briefly exists twice
    while its pieces are joined). Reads hold about two read chunks.

    A write that fails while S3 itself is unreachable cannot abort its
    multipart upload; give the bucket an AbortIncompleteMultipartUpload
    lifecycle rule so such leftovers expire.

    On AWS the credentials need s3:ListBucket as well as Get/Put/Delete
    object rights; without it S3 answers 403 instead of 404 for missing keys.

    Clients are created lazily and re-created after ``fork()``, so a store
    built before Celery forks its workers is safe to use in them.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        chunk_size: int = 8 * MIB,
        max_concurrency: int = 4,
        create_bucket: bool = False,
    ) -> None:
        check_chunk_size(chunk_size)
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        # Custom endpoints (MinIO, moto) need some region to sign with.
        self.region = region or ("us-east-1" if endpoint_url else None)
        self.chunk_size = max(chunk_size, MIN_PART_SIZE)
        self.max_concurrency = max_concurrency
        self._credentials = (access_key_id, secret_access_key)
        self._lock = threading.Lock()
        self._clients: dict[str, object] = {}
        self._pid = os.getpid()
        if create_bucket:
            self._ensure_bucket()

    # -- StagingStore API ---------------------------------------------------

    def write(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        on_progress: ProgressFn | None = None,
    ) -> int:
        """Multipart-upload ``chunks`` to ``key``; return the bytes written.

        The iterator and ``on_progress`` run on a transfer-manager thread
        (so they must not rely on thread-locals or context variables). On any
        failure the multipart upload is aborted before this returns.
        """
        s3_key = self.s3_key(key)
        reader = ChunkReader(chunks, Progress(on_progress))
        failure: BaseException | None = None
        try:
            self._upload(reader, s3_key)
        except BaseException as exc:  # noqa: BLE001 - sorted out just below
            failure = exc
        if failure is not None:
            # Raised outside the except block so the caller's exception keeps
            # its own __context__/__cause__ untouched.
            raise _write_failure(failure, reader, key)
        return reader.progress.total

    def size(self, key: str) -> int:
        """Return the object's size (HEAD); StagedObjectMissing if absent."""
        with _s3_errors(f"HEAD s3://{self.bucket}/{self.s3_key(key)}", key):
            head = self._client().head_object(Bucket=self.bucket, Key=self.s3_key(key))
        return int(head["ContentLength"])

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Return up to ``length`` bytes at ``start`` with one ranged GET."""
        check_range_args(start, length)
        if length == 0:
            self.size(key)  # still report a missing object
            return b""
        stream = _ObjectStream(self, key, start, start + length)
        try:
            return read_exact(stream.read, length)
        finally:
            stream.close()

    def iter_chunks(self, key: str, chunk_size: int, start: int = 0) -> Iterator[bytes]:
        """Yield the object from ``start`` in ``chunk_size`` pieces (lazy).

        One GET streams the whole remainder; a dropped connection is re-opened
        at the current offset (pinned to the same ETag).
        """
        self.s3_key(key)
        check_chunk_size(chunk_size)
        check_range_args(start)
        return self._stream(key, chunk_size, start)

    def open_stream(self, key: str, start: int = 0) -> "_ObjectStream":
        """One GET of ``key`` from ``start`` to the end, opened on the first read.

        A dropped connection is re-opened at the current offset (pinned to
        the same ETag); ``gets`` counts every GET issued.
        """
        self.s3_key(key)
        check_range_args(start)
        return _ObjectStream(self, key, start)

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is fine."""
        with _s3_errors(f"DELETE {key!r}"):
            self._client().delete_object(Bucket=self.bucket, Key=self.s3_key(key))

    def check(self) -> None:
        """HEAD the bucket with a fast, non-retrying client; StagingError on failure."""
        with _s3_errors(f"HEAD bucket {self.bucket!r}"):
            self._client("probe").head_bucket(Bucket=self.bucket)

    def describe(self) -> str:
        """Return e.g. ``s3://bucket/prefix @ http://127.0.0.1:9000``."""
        where = self.endpoint_url or f"AWS {self.region or 'default region'}"
        return f"s3://{self.bucket}/{self.prefix} @ {where}"

    def s3_key(self, key: str) -> str:
        """Return the full S3 object key for ``key`` (validating it)."""
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    # -- helpers ------------------------------------------------------------

    def _upload(self, reader: ChunkReader, s3_key: str) -> None:
        # create_transfer_manager is exactly what client.upload_fileobj uses;
        # holding the future ourselves lets us stop the reader when this
        # thread is interrupted (Celery soft time limit, SIGTERM), instead of
        # the manager's shutdown waiting for the whole source to drain.
        with create_transfer_manager(self._client(), self._transfer_config()) as manager:
            try:
                future = manager.upload(fileobj=reader, bucket=self.bucket, key=s3_key)
                future.result()
            except BaseException:
                reader.cancel()
                raise

    def _transfer_config(self) -> TransferConfig:
        config = TransferConfig(
            multipart_threshold=self.chunk_size,
            multipart_chunksize=self.chunk_size,
            max_concurrency=self.max_concurrency,
            use_threads=True,
            preferred_transfer_client="classic",  # CRT would ignore these bounds
        )
        # boto3 does not expose this s3transfer knob; its default (10) lets
        # ten parts queue in memory regardless of max_concurrency.
        config.max_in_memory_upload_chunks = self.max_concurrency
        return config

    def _stream(self, key: str, chunk_size: int, start: int) -> Iterator[bytes]:
        stream = _ObjectStream(self, key, start)
        try:
            while True:
                chunk = read_exact(stream.read, chunk_size)
                if not chunk:
                    return
                yield chunk
                if len(chunk) < chunk_size:
                    return
        finally:
            stream.close()

    def _client(self, kind: str = "main"):
        with self._lock:
            if self._pid != os.getpid():
                # Connection pools must not be shared across fork().
                self._clients.clear()
                self._pid = os.getpid()
            if kind not in self._clients:
                self._clients[kind] = self._make_client(probe=(kind == "probe"))
            return self._clients[kind]

    def _make_client(self, *, probe: bool):
        # A private Session: boto3's default session is not thread-safe.
        access_key_id, secret_access_key = self._credentials
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=self.region,
        )
        config = Config(
            # The readiness probe must answer fast: one attempt, short timeouts.
            retries={"mode": "standard", "max_attempts": 1 if probe else 5},
            connect_timeout=2 if probe else 10,
            read_timeout=5 if probe else 60,
            max_pool_connections=max(10, self.max_concurrency + 4),
            # Path style works with IP/localhost endpoints and MinIO defaults.
            s3={"addressing_style": "path"} if self.endpoint_url else {},
            # Many S3-compatible servers reject the newer default checksum
            # headers; SigV4 payload signing and TLS still protect the data.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return session.client("s3", endpoint_url=self.endpoint_url, config=config)

    def _ensure_bucket(self) -> None:
        client = self._client()
        with _s3_errors(f"create bucket {self.bucket!r}"):
            try:
                client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as exc:
                if _status(exc) != 404:
                    raise
            params: dict = {"Bucket": self.bucket}
            if self.region and self.region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            try:
                client.create_bucket(**params)
            except ClientError as exc:
                if _code(exc) != "BucketAlreadyOwnedByYou":
                    raise


class _ObjectStream:
    """Sequential reader over bytes ``[offset, end)`` of one S3 object.

    Opens one GET (ranged unless reading from 0 to the end) and, if the
    connection dies mid-body, re-opens from the current offset with
    ``If-Match`` on the first ETag so a replaced object is never spliced in.
    """

    def __init__(self, store: S3StagingStore, key: str, offset: int, end: int | None = None) -> None:
        self._store = store
        self._key = key
        self.offset = offset
        self._end = end
        self._etag: str | None = None
        self._body = None
        self._body_end = 0
        self._exhausted = False
        self._failures = 0
        #: GET requests issued (the first one plus every re-open).
        self.gets = 0

    def read(self, n: int) -> bytes:
        """Return up to ``n`` bytes; b"" at the end of the range."""
        while not self._exhausted:
            if self._body is None and not self._open():
                break
            try:
                data = self._body.read(n)
            except _STREAM_ERRORS as exc:
                self._dropped(exc)
                continue
            if data:
                self.offset += len(data)
                self._failures = 0
                return data
            if self.offset < self._body_end:
                self._dropped(IncompleteReadError(actual_bytes=self.offset, expected_bytes=self._body_end))
                continue
            self._exhausted = True
        return b""

    def close(self) -> None:
        """Release the connection (safe to call repeatedly)."""
        if self._body is not None:
            with contextlib.suppress(Exception):
                self._body.close()
            self._body = None

    def _open(self) -> bool:
        params = {"Bucket": self._store.bucket, "Key": self._store.s3_key(self._key)}
        if self.offset or self._end is not None:
            last = "" if self._end is None else str(self._end - 1)
            params["Range"] = f"bytes={self.offset}-{last}"
        if self._etag:
            params["IfMatch"] = self._etag
        self.gets += 1
        try:
            resp = self._store._client().get_object(**params)
        except ClientError as exc:
            if _status(exc) == 416:  # range starts at or past the end
                self._exhausted = True
                return False
            if _status(exc) == 412:
                raise StagingError(f"staged object {self._key!r} changed while being read") from exc
            raise _translate(exc, f"GET s3://{params['Bucket']}/{params['Key']}", self._key) from exc
        except BotoCoreError as exc:
            raise _translate(exc, f"GET {self._key!r}", self._key) from exc
        self._etag = self._etag or resp.get("ETag")
        self._body = resp["Body"]
        self._body_end = self.offset + int(resp["ContentLength"])
        return True

    def _dropped(self, exc: BaseException) -> None:
        self.close()
        self._failures += 1
        if self._failures > MAX_REOPENS:
            raise StagingError(
                f"download of {self._key!r} kept dropping at offset {self.offset}: {exc}"
            ) from exc
        log.warning("staging: GET %r dropped at offset %d (%s); re-opening", self._key, self.offset, exc)
        time.sleep(min(0.1 * 2 ** (self._failures - 1), 2.0))


def _write_failure(failure: BaseException, reader: ChunkReader, key: str) -> BaseException:
    """Pick the exception write() should raise for ``failure``."""
    if reader.caller_error is not None:
        return reader.caller_error  # whatever the transfer manager made of it
    if isinstance(failure, (ClientError, BotoCoreError)):
        error = _translate(failure, f"upload {key!r}")
        error.__cause__ = failure
        return error
    return failure


@contextlib.contextmanager
def _s3_errors(what: str, key: str | None = None):
    """Translate botocore exceptions raised in the block into StagingError."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, what, key) from exc


def _translate(exc: BaseException, what: str, key: str | None = None) -> StagingError:
    if isinstance(exc, ClientError):
        code, status = _code(exc), _status(exc)
        if key is not None and code in _MISSING_CODES:  # say where, and what S3 answered
            return StagedObjectMissing(key, f"staged object not found: {key!r} (S3 {what}: {code}, HTTP {status})")
        transient = status >= 500 or status in (408, 429) or code in _TRANSIENT_CODES
        hint = ""
        if key is not None and status == 403:  # S3 hides a missing key behind 403 without s3:ListBucket
            hint = (f" for {key!r}: the staging credentials lack s3:GetObject on it, or lack s3:ListBucket "
                    "and the object does not exist (give them both, so a missing object reads as missing)")
        return StagingError(f"S3 {what} failed: {code or 'error'} (HTTP {status}){hint}", transient=transient)
    transient = not isinstance(exc, _PERMANENT_BOTO_ERRORS)
    return StagingError(f"S3 {what} failed: {exc}", transient=transient)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
