"""The staging-store contract shared by the local-directory and S3 backends.

A push downloads its media into staging with ``StagingStore.write`` and the
upload stage reads it back with ``reader(key)``: one sequential stream that
serves "the next chunk from offset N" and re-opens only when asked for another
offset (a resume). ``iter_chunks`` and ``read_range`` remain for whole-object
streaming and small random reads. Every backend streams: no method ever holds
a whole object in memory, only a few chunks at a time.
"""

from __future__ import annotations

import collections
import sys
import threading
from abc import ABC, abstractmethod
from typing import Callable, Iterable, Iterator, Protocol

MIB = 1024 * 1024

#: ``on_progress`` is called at most about once per this many bytes.
PROGRESS_STEP = MIB

#: Maximum UTF-8 length of a key: leaves room for a prefix within S3's
#: 1024-byte key limit.
MAX_KEY_LENGTH = 900

ProgressFn = Callable[[int], None]


class StagingError(Exception):
    """A staging-store fault.

    ``transient`` tells the caller whether retrying later may succeed
    (network drop, 5xx, full disk); it is True unless the backend knows the
    fault is permanent (bad credentials, missing bucket, missing object).
    """

    #: The audit's reason for an attempt that failed on this fault (None: the stage's own).
    reason: str | None = None

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class StagingFull(StagingError):
    """The store has no room left (a full disk, a quota): transient, retried later."""

    reason = "staging_full"


class StagedObjectMissing(StagingError):
    """The requested key does not exist in the store (permanent)."""

    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or f"staged object not found: {key!r}", transient=False)
        self.key = key


class StagingStore(ABC):
    """A flat namespace of binary objects addressed by path-like keys.

    Keys look like ``pushes/1234/media.mp4``: ``/``-separated, relative,
    without ``.``/``..`` segments (``validate_key`` enforces this and raises
    ValueError). All methods are safe to call from several threads.
    """

    @abstractmethod
    def write(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        on_progress: ProgressFn | None = None,
    ) -> int:
        """Stream ``chunks`` into the object ``key``; return the total bytes.

        The object appears atomically once every chunk is stored, replacing
        any previous object with that key. If the iterator (or
        ``on_progress``) raises, the write is aborted, no partial object is
        left behind, and that very exception is re-raised unchanged; this is
        how callers enforce size caps or format checks mid-download.
        ``on_progress(total_so_far)`` is called as bytes are consumed, at most
        about once per MiB, and always with the final total at the end.
        """

    @abstractmethod
    def size(self, key: str) -> int:
        """Return the object's size in bytes; StagedObjectMissing if absent."""

    def exists(self, key: str) -> bool:
        """Return True if the object exists (asks ``size``)."""
        try:
            self.size(key)
        except StagedObjectMissing:
            return False
        return True

    @abstractmethod
    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Return ``length`` bytes from offset ``start``.

        The result is shorter only when the range runs past the end of the
        object (empty if ``start`` is at or beyond it).
        """

    @abstractmethod
    def iter_chunks(self, key: str, chunk_size: int, start: int = 0) -> Iterator[bytes]:
        """Yield the object from ``start`` in chunks of exactly ``chunk_size``.

        Only the last chunk may be shorter. The data is streamed: memory stays
        at about two chunks (the one being read and the one the caller holds). Arguments are checked at call time; store
        errors (e.g. StagedObjectMissing) surface on the first ``next()``.
        Close the iterator (or exhaust it) to release the underlying file or
        connection early.
        """

    @abstractmethod
    def open_stream(self, key: str, start: int = 0) -> "ObjectStream":
        """Open one sequential read of ``key`` from ``start`` to the end (lazy).

        Nothing is requested until the first ``read``; StagedObjectMissing and
        other store errors surface there. S3 streams re-open themselves at
        their current offset after a dropped connection.
        """

    def reader(self, key: str) -> "SequentialReader":
        """A ``SequentialReader`` over ``key``: see its docstring."""
        validate_key(key)
        return SequentialReader(self, key)

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""

    @abstractmethod
    def check(self) -> None:
        """Raise StagingError if the store is unreachable or unusable."""

    @abstractmethod
    def describe(self) -> str:
        """Return a human-readable location for logs; never contains secrets."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError("staging key must be a non-empty string")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_LENGTH:
        raise ValueError(f"staging key longer than {MAX_KEY_LENGTH} bytes")
    if key.startswith("/") or "\\" in key:
        raise ValueError(f"staging key must be a relative '/'-separated path: {key!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise ValueError(f"staging key contains control characters: {key!r}")
    for segment in key.split("/"):
        # Empty and dot segments would alias other keys or escape the root.
        if segment in ("", ".", ".."):
            raise ValueError(f"staging key has an empty, '.' or '..' segment: {key!r}")
    return key


def check_range_args(start: int, length: int | None = None) -> None:
    """Raise ValueError unless ``start`` (and ``length``) are non-negative ints."""
    if not isinstance(start, int) or start < 0:
        raise ValueError(f"start must be a non-negative int, got {start!r}")
    if length is not None and (not isinstance(length, int) or length < 0):
        raise ValueError(f"length must be a non-negative int, got {length!r}")


def check_chunk_size(chunk_size: int) -> None:
    """Raise ValueError unless ``chunk_size`` is a positive int."""
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")


def read_exact(read: Callable[[int], bytes], n: int) -> bytes:
    """Call ``read(k)`` until ``n`` bytes are gathered or it returns b"".

    Streams may return short reads; the store contract promises exact chunk
    sizes, so gather pieces. The common single-read case avoids a copy.
    """
    first = read(n)
    if len(first) >= n or not first:
        return first
    pieces, got = [first], len(first)
    while got < n:
        piece = read(n - got)
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    return b"".join(pieces)


class ObjectStream(Protocol):
    """What ``StagingStore.open_stream`` returns."""

    #: Offset of the next byte ``read`` returns.
    offset: int
    #: Requests opened so far (S3 GETs, local file opens), re-opens included.
    gets: int

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (b"" at the end)."""

    def close(self) -> None:
        """Release the file or connection; safe to repeat."""


class SequentialReader:
    """``read(offset, length)`` served from one open stream while reads follow on.

    An upload asks for its chunks in order; while ``offset`` is where the
    previous read ended, the bytes come from the same open stream (one S3
    GET for the whole upload). Any other offset (a provider that committed
    less or more than was sent, a resync, a redelivered task) closes the
    stream and opens a new one there. A stream that drops mid-body re-opens
    itself at its offset. Memory: the chunk being returned, no read-ahead.
    ``gets`` counts the requests opened (1 for an upload that never resumed).
    Use as a context manager or call ``close()``; not thread-safe.
    """

    def __init__(self, store: StagingStore, key: str) -> None:
        self.store, self.key = store, key
        self._stream: ObjectStream | None = None
        self._done_gets = 0
        #: Times a read asked for an offset other than the stream's.
        self.seeks = 0

    @property
    def gets(self) -> int:
        return self._done_gets + (self._stream.gets if self._stream is not None else 0)

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``; shorter only at the end of the object."""
        check_range_args(offset, length)
        if self._stream is not None and self._stream.offset != offset:
            self.seeks += 1
            self.close()
        if self._stream is None:
            self._stream = self.store.open_stream(self.key, offset)
        if length == 0:
            return b""
        data = read_exact(self._stream.read, length)
        if len(data) < length:  # the end: nothing more to stream
            self.close()
        return data

    def close(self) -> None:
        """Release the open stream, if any (a later read opens a new one)."""
        if self._stream is not None:
            self._done_gets += self._stream.gets
            self._stream.close()
            self._stream = None

    def __enter__(self) -> "SequentialReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Progress:
    """Throttled ``on_progress`` reporting; a ``None`` callback means no-op."""

    def __init__(self, callback: ProgressFn | None, step: int = PROGRESS_STEP) -> None:
        self._callback = callback
        self._step = step
        self.total = 0
        self._reported: int | None = None

    def add(self, n: int) -> None:
        """Account ``n`` more bytes; report if a step boundary was passed."""
        self.total += n
        if self._callback is not None and self.total - (self._reported or 0) >= self._step:
            self._report()

    def finish(self) -> None:
        """Report the final total unless it was just reported."""
        if self._callback is not None and self._reported != self.total:
            self._report()

    def _report(self) -> None:
        self._reported = self.total
        self._callback(self.total)


class ReaderCancelled(Exception):
    """Raised by ``ChunkReader.read`` after ``cancel()``."""


class ChunkReader:
    """A read-only, non-seekable file object over an iterator of byte chunks.

    Call ``ChunkReader(chunks, Progress(on_progress))`` and hand it to an API
    that pulls from a file (boto3's transfer manager). ``read(n)`` returns
    exactly ``n`` bytes until the iterator is exhausted, because consumers
    such as s3transfer take a short read for end-of-file; at most ``n`` bytes
    plus one incoming chunk are buffered. Exceptions raised by the iterator
    or the progress callback propagate and are also kept in ``caller_error``,
    so the original can be re-raised if the consumer wraps it. ``cancel()``
    (from any thread) makes the next pull raise ReaderCancelled.
    """

    def __init__(self, chunks: Iterable[bytes], progress: Progress) -> None:
        self._chunks = iter(chunks)
        self.progress = progress
        self.caller_error: BaseException | None = None
        self._pending: collections.deque[memoryview] = collections.deque()
        self._buffered = 0
        self._eof = False
        self._cancelled = threading.Event()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def cancel(self) -> None:
        """Make the next ``read`` raise; safe to call from any thread."""
        self._cancelled.set()

    def read(self, n: int | None = -1) -> bytes:
        """Return the next ``n`` bytes (all remaining if ``n`` < 0 or None)."""
        want = sys.maxsize if n is None or n < 0 else n
        while self._buffered < want and not self._eof:
            self._pull()
        return self._take(min(want, self._buffered))

    def _pull(self) -> None:
        if self._cancelled.is_set():
            raise ReaderCancelled("write interrupted")
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._eof = True
            self._guard(self.progress.finish)
            return
        except BaseException as exc:
            self.caller_error = exc
            raise
        # Mutable buffers may be reused by the producer after yielding.
        view = memoryview(chunk if isinstance(chunk, bytes) else bytes(chunk))
        if len(view):
            self._pending.append(view)
            self._buffered += len(view)
            self._guard(self.progress.add, len(view))

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except BaseException as exc:
            self.caller_error = exc
            raise

    def _take(self, n: int) -> bytes:
        pieces, need = [], n
        while need:
            view = self._pending.popleft()
            if len(view) > need:
                self._pending.appendleft(view[need:])
                view = view[:need]
            pieces.append(view)
            need -= len(view)
        self._buffered -= n
        if len(pieces) == 1 and pieces[0].obj is not None and len(pieces[0]) == len(pieces[0].obj):
            return pieces[0].obj  # a whole caller chunk: no copy
        return b"".join(pieces)
