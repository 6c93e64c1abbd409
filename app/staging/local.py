"""Staging store backed by a local (or mounted) directory.

Objects are plain files under the root directory; a key ``a/b.mp4`` is the
file ``<root>/a/b.mp4``. Writes go to a hidden temp file in the same
directory and are published with ``os.replace``, so readers never see a
partial object.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from typing import IO, Iterable, Iterator

from .base import (
    Progress,
    ProgressFn,
    StagedObjectMissing,
    StagingError,
    StagingFull,
    StagingStore,
    check_chunk_size,
    check_range_args,
    read_exact,
    validate_key,
)

# Faults that retrying will not fix; everything else (ENOSPC, EIO, ...) may.
_PERMANENT_ERRNOS = {
    errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG,
}

# Mode for published files: what a plain open() gives under the usual umask,
# so other processes (gateway, workers) running as another user can read.
_FILE_MODE = 0o644


class LocalStagingStore(StagingStore):
    """Store objects as files under ``root``.

    Call ``LocalStagingStore("/var/lib/pushwire/staging")``, or use
    ``app.staging.open_store("file:///var/lib/pushwire/staging")``. The root
    is created if missing; afterwards it must keep existing (a vanished root
    usually means a lost mount, which ``check`` and ``write`` report rather
    than silently recreate).
    """

    def __init__(self, root: str, *, create: bool = True) -> None:
        self.root = os.path.abspath(root)
        if create:
            try:
                os.makedirs(self.root, exist_ok=True)
            except OSError as exc:
                raise _error(f"cannot create staging root {self.root}", exc) from exc

    # -- StagingStore API ---------------------------------------------------

    def write(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        on_progress: ProgressFn | None = None,
    ) -> int:
        """Stream ``chunks`` to ``<root>/<key>`` atomically; return bytes written."""
        path = self._path(key)
        self._require_root()
        fd, tmp = self._open_temp(path)
        f = os.fdopen(fd, "wb")
        progress = Progress(on_progress)
        try:
            # The loop mixes caller code (the iterator, on_progress), whose
            # exceptions must pass through untouched, with our file I/O, whose
            # OSErrors are translated right where they happen.
            for chunk in chunks:
                _io(f.write, chunk, what=key)
                progress.add(len(chunk))
            progress.finish()
            _io(_publish, f, tmp, path, what=key)
        except BaseException:
            _discard(f, tmp)
            raise
        _fsync_dir(os.path.dirname(path))
        return progress.total

    def size(self, key: str) -> int:
        """Return the file size; StagedObjectMissing if absent."""
        return self._stat(key).st_size

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Return up to ``length`` bytes at ``start`` (short only at EOF)."""
        check_range_args(start, length)
        with self._open(key) as f:
            # Clamp first: read(n) allocates n bytes up front, however small
            # the file. Writers swap files with os.replace, so the size of an
            # open file never changes.
            length = max(0, min(length, os.fstat(f.fileno()).st_size - start))
            f.seek(start)
            return read_exact(f.read, length) if length else b""

    def iter_chunks(self, key: str, chunk_size: int, start: int = 0) -> Iterator[bytes]:
        """Yield the file from ``start`` in ``chunk_size`` pieces (lazy)."""
        self._path(key)  # validates the key now rather than on first next()
        check_chunk_size(chunk_size)
        check_range_args(start)
        return self._stream(key, chunk_size, start)

    def open_stream(self, key: str, start: int = 0) -> "_FileStream":
        """The file from ``start``, opened on the first read."""
        self._path(key)
        check_range_args(start)
        return _FileStream(self, key, start)

    def delete(self, key: str) -> None:
        """Remove the file and any directories left empty; idempotent."""
        path = self._path(key)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _error(f"cannot delete staged object {key!r}", exc) from exc
        self._prune_empty_dirs(os.path.dirname(path))

    def check(self) -> None:
        """Raise StagingError unless the root is an existing writable directory."""
        self._require_root()
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StagingError(f"staging root {self.root} is not writable", transient=False)

    def describe(self) -> str:
        """Return ``file://<root>``."""
        return f"file://{self.root}"

    # -- helpers ------------------------------------------------------------

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *validate_key(key).split("/"))

    def _require_root(self) -> None:
        if not os.path.isdir(self.root):
            raise StagingError(f"staging root {self.root} does not exist (mount lost?)")

    def _stat(self, key: str) -> os.stat_result:
        try:
            st = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            raise StagedObjectMissing(key) from None
        except OSError as exc:
            raise _error(f"cannot stat staged object {key!r}", exc) from exc
        if not stat.S_ISREG(st.st_mode):
            raise StagedObjectMissing(key)
        return st

    def _open(self, key: str) -> IO[bytes]:
        path = self._path(key)
        try:
            f = open(path, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise StagedObjectMissing(key) from None
        except OSError as exc:
            raise _error(f"cannot open staged object {key!r}", exc) from exc
        return f

    def _stream(self, key: str, chunk_size: int, start: int) -> Iterator[bytes]:
        with self._open(key) as f:
            end = os.fstat(f.fileno()).st_size  # fixed: see read_range
            f.seek(start)
            position = start
            while position < end:
                chunk = read_exact(f.read, min(chunk_size, end - position))
                if not chunk:
                    return
                position += len(chunk)
                yield chunk

    def _open_temp(self, path: str) -> tuple[int, str]:
        parent, name = os.path.split(path)

        def attempt() -> tuple[int, str]:
            os.makedirs(parent, exist_ok=True)
            return tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=parent)

        try:
            try:
                return attempt()
            except FileNotFoundError:
                # A concurrent delete() may have pruned the parent directory
                # between makedirs and mkstemp.
                return attempt()
        except OSError as exc:
            raise _error(f"cannot create temp file in {parent}", exc) from exc

    def _prune_empty_dirs(self, directory: str) -> None:
        # Keys like pushes/<id>/media would otherwise leave one empty
        # directory per push behind.
        while directory != self.root and directory.startswith(self.root + os.sep):
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)


class _FileStream:
    """Sequential reads of one staged file (see ``StagingStore.open_stream``)."""

    def __init__(self, store: LocalStagingStore, key: str, offset: int) -> None:
        self._store, self._key = store, key
        self.offset, self.gets = offset, 0
        self._file: IO[bytes] | None = None
        self._end = 0

    def read(self, n: int) -> bytes:
        if self._file is None:
            self._file = self._store._open(self._key)
            self.gets += 1
            self._end = os.fstat(self._file.fileno()).st_size  # fixed: see read_range
            self._file.seek(self.offset)
        # Clamped: read(n) allocates n bytes up front, however little is left.
        n = max(0, min(n, self._end - self.offset))
        try:
            data = self._file.read(n) if n else b""
        except OSError as exc:
            raise _error(f"cannot read staged object {self._key!r}", exc) from exc
        self.offset += len(data)
        return data

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


def _io(fn, *args, what: str):
    """Call ``fn(*args)``, translating OSError into StagingError."""
    try:
        return fn(*args)
    except OSError as exc:
        raise _error(f"cannot write staged object {what!r}", exc) from exc


def _publish(f: IO[bytes], tmp: str, path: str) -> None:
    f.flush()
    # fsync before the rename: after a power loss the final name must not
    # point at a truncated file.
    os.fsync(f.fileno())
    f.close()
    os.chmod(tmp, _FILE_MODE)
    os.replace(tmp, path)


def _discard(f: IO[bytes], tmp: str) -> None:
    # Errors here (e.g. the final flush hitting a full disk) must not replace
    # the exception that is already propagating.
    with contextlib.suppress(OSError):
        f.close()
    with contextlib.suppress(OSError):
        os.unlink(tmp)


# No room: the disk (or the user's quota) is full. Retried later, as space is freed.
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def _error(message: str, exc: OSError) -> StagingError:
    if exc.errno in _FULL_ERRNOS:
        return StagingFull(f"{message}: the staging disk is full ({exc.strerror})")
    transient = exc.errno not in _PERMANENT_ERRNOS
    return StagingError(f"{message}: {exc}", transient=transient)


def _fsync_dir(directory: str) -> None:
    # Makes the rename durable; best effort (not all filesystems allow it).
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
