"""Staging stores against a real filesystem and a real S3 server (moto, subprocess)."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import threading
import time
import tracemalloc
import uuid

import pytest

from app.staging import StagedObjectMissing, StagingError, open_store
from tests.support.dropproxy import DroppingProxy
from tests.support.s3server import make_client, s3_endpoint, s3_store_options  # noqa: F401

MIB = 1024 * 1024
SIZE = 20 * MIB
PART = 5 * MIB
BACKENDS = ["local", "s3"]


class Boom(Exception):
    """Raised by test iterators to simulate a caller-side check failing."""


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(SIZE)


def chunked(data: bytes, size: int = MIB):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_store(kind, tmp_path, request, **options):
    if kind == "local":
        return open_store(f"file://{tmp_path / 'staging'}")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"stg-{uuid.uuid4().hex[:16]}"
    options.setdefault("chunk_size", PART)
    return open_store(f"s3://{bucket}/stage", **s3_store_options(endpoint),
                      create_bucket=True, **options)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    return make_store(request.param, tmp_path, request)


@pytest.fixture
def stored(store, payload):
    store.write("media/video.mp4", chunked(payload))
    return store


def leftovers(store) -> list:
    """Partial state a failed write could leave: temp files or open multipart uploads."""
    if hasattr(store, "root"):
        return [os.path.join(d, f) for d, _, files in os.walk(store.root) for f in files]
    client = make_client(store.endpoint_url)
    return client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])


# -- writing -------------------------------------------------------------------


def test_write_streams_chunks_and_reports_progress(store, payload):
    seen = []
    total = store.write("media/video.mp4", chunked(payload), on_progress=seen.append)
    assert total == SIZE == store.size("media/video.mp4")
    assert store.exists("media/video.mp4")
    assert seen == sorted(set(seen)) and seen[-1] == SIZE  # increasing, no repeats
    assert len(seen) <= SIZE // MIB + 1  # about once per MiB at most
    if hasattr(store, "bucket"):  # a real multipart upload: 4 parts of 5 MiB
        head = make_client(store.endpoint_url).head_object(
            Bucket=store.bucket, Key=store.s3_key("media/video.mp4"))
        assert head["ETag"].strip('"').endswith("-4")


@pytest.mark.parametrize("chunks", [[], [b""], [b"abc", b"", bytearray(b"def")]])
def test_small_and_empty_objects(store, chunks):
    expected = b"".join(bytes(c) for c in chunks)
    seen = []
    assert store.write("small", iter(chunks), on_progress=seen.append) == len(expected)
    assert seen == [len(expected)]
    assert store.size("small") == len(expected)
    assert b"".join(store.iter_chunks("small", 2)) == expected
    assert store.read_range("small", 0, 100) == expected


def test_producer_may_reuse_its_buffer(store, payload):
    def chunks():  # like a readinto() loop: one bytearray refilled each time
        buf = bytearray(MIB)
        for i in range(0, SIZE, MIB):
            buf[:] = payload[i:i + MIB]
            yield buf

    store.write("media/video.mp4", chunks())
    assert sha(b"".join(store.iter_chunks("media/video.mp4", 4 * MIB))) == sha(payload)


def test_write_replaces_existing_object(stored):
    assert stored.write("media/video.mp4", [b"new"]) == 3
    assert stored.read_range("media/video.mp4", 0, 10) == b"new"


@pytest.mark.parametrize("fail_after", [0, 3 * MIB, 12 * MIB])
def test_iterator_exception_aborts_write(store, payload, fail_after):
    root_cause = ValueError("size cap")
    boom = Boom("too big")

    def chunks():
        yield from chunked(payload[:fail_after])
        raise boom from root_cause

    with pytest.raises(Boom) as excinfo:
        store.write("media/video.mp4", chunks())
    assert excinfo.value is boom and boom.__cause__ is root_cause
    assert boom.__context__ is None  # nothing was chained onto it on the way out
    assert not store.exists("media/video.mp4")
    assert leftovers(store) == []


def test_progress_callback_exception_aborts_write(store, payload):
    boom = Boom("cancelled by user")

    def on_progress(total):
        if total >= 11 * MIB:
            raise boom

    with pytest.raises(Boom) as excinfo:
        store.write("media/video.mp4", chunked(payload), on_progress=on_progress)
    assert excinfo.value is boom
    assert not store.exists("media/video.mp4")
    assert leftovers(store) == []


def test_failed_write_keeps_previous_object(stored, payload):
    def chunks():
        yield from chunked(payload[:8 * MIB])
        raise Boom()

    with pytest.raises(Boom):
        stored.write("media/video.mp4", chunks())
    assert stored.size("media/video.mp4") == SIZE


def test_interrupt_in_calling_thread_aborts_write(store):
    # What a Celery soft time limit does: an exception raised by a signal
    # handler in the calling thread while the write is in progress.
    block = os.urandom(MIB)

    def endless():
        while True:
            yield block
            time.sleep(0.002)

    def interrupt(signum, frame):
        raise Boom("soft time limit")

    # SIGUSR1 rather than SIGALRM, which pytest-timeout uses.
    previous = signal.signal(signal.SIGUSR1, interrupt)
    timer = threading.Timer(0.5, signal.pthread_kill, (threading.main_thread().ident, signal.SIGUSR1))
    started = time.monotonic()
    try:
        timer.start()
        with pytest.raises(Boom):
            store.write("media/video.mp4", endless())
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert time.monotonic() - started < 10
    assert not store.exists("media/video.mp4")
    assert leftovers(store) == []


# -- reading -------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [MIB, 3 * MIB + 7, SIZE, 64 * MIB])
def test_iter_chunks_round_trip(stored, payload, chunk_size):
    for start in (0, 1, PART + 3, SIZE - 1, SIZE, SIZE + 10):
        chunks = list(stored.iter_chunks("media/video.mp4", chunk_size, start))
        assert all(len(c) == chunk_size for c in chunks[:-1])
        assert chunks == [] or 0 < len(chunks[-1]) <= chunk_size
        assert sha(b"".join(chunks)) == sha(payload[start:]), (chunk_size, start)


@pytest.mark.parametrize("start,length", [
    (0, 10), (PART - 3, 10), (MIB, 2 * PART + 1), (SIZE - 5, 10), (SIZE - 1, 1),
    (SIZE, 10), (SIZE + 100, 10), (123, 0),
])
def test_read_range_edges(stored, payload, start, length):
    assert stored.read_range("media/video.mp4", start, length) == payload[start:start + length]


def test_reader_serves_consecutive_chunks_from_one_stream(stored, payload):
    with stored.reader("media/video.mp4") as reader:
        chunks = [reader.read(offset, 3 * MIB) for offset in range(0, SIZE, 3 * MIB)]
        assert reader.gets == 1 and reader.seeks == 0
    assert sha(b"".join(chunks)) == sha(payload) and len(chunks[-1]) == SIZE % (3 * MIB)


def test_reader_reopens_only_at_another_offset(stored, payload):
    reader = stored.reader("media/video.mp4")
    assert reader.read(0, MIB) == payload[:MIB]
    assert reader.read(MIB, MIB) == payload[MIB:2 * MIB]
    assert reader.read(MIB // 2, MIB) == payload[MIB // 2:3 * MIB // 2]  # back: the provider kept less
    assert reader.read(3 * MIB // 2, 10) == payload[3 * MIB // 2:3 * MIB // 2 + 10]
    assert reader.read(7 * MIB, MIB) == payload[7 * MIB:8 * MIB]  # ahead: the provider has more
    assert reader.gets == 3 and reader.seeks == 2
    assert reader.read(SIZE - 5, 10) == payload[-5:]  # short at the end, then released
    assert reader.read(SIZE, 10) == b"" and reader.read(SIZE + 3, 1) == b""
    reader.close()


def test_reader_on_a_missing_object(store):
    reader = store.reader("nope/missing")  # lazy: nothing is asked yet
    with pytest.raises(StagedObjectMissing):
        reader.read(0, 10)
    with pytest.raises(ValueError):
        reader.read(-1, 10)
    with pytest.raises(ValueError):
        store.reader("../escape")


def test_iter_chunks_can_stop_early(stored, payload):
    it = stored.iter_chunks("media/video.mp4", MIB)
    assert next(it) == payload[:MIB]
    it.close()  # releases the file / connection without reading the rest


def test_missing_key(store):
    with pytest.raises(StagedObjectMissing) as excinfo:
        store.size("nope/missing")
    assert excinfo.value.transient is False and excinfo.value.key == "nope/missing"
    assert store.exists("nope/missing") is False
    with pytest.raises(StagedObjectMissing):
        store.read_range("nope/missing", 0, 10)
    with pytest.raises(StagedObjectMissing):
        store.read_range("nope/missing", 0, 0)
    chunks = store.iter_chunks("nope/missing", MIB)  # lazy: raises on first next()
    with pytest.raises(StagedObjectMissing):
        next(chunks)


def test_delete_is_idempotent(stored):
    stored.delete("media/video.mp4")
    stored.delete("media/video.mp4")
    stored.delete("never/written")
    assert not stored.exists("media/video.mp4")
    with pytest.raises(StagedObjectMissing):
        stored.size("media/video.mp4")
    if hasattr(stored, "root"):  # empty key directories are pruned, the root stays
        assert os.listdir(stored.root) == []


@pytest.mark.parametrize("key", [
    "", "/abs/path", "../escape", "a/../../b", "a/..", "./a", "a//b", "a/", "a\\b", "a\x00b",
])
def test_bad_keys_are_refused(store, key):
    for call in (
        lambda: store.write(key, [b"x"]),
        lambda: store.size(key),
        lambda: store.exists(key),
        lambda: store.read_range(key, 0, 1),
        lambda: store.iter_chunks(key, 10),
        lambda: store.delete(key),
    ):
        with pytest.raises(ValueError):
            call()


def test_bad_arguments_are_refused(stored):
    with pytest.raises(ValueError):
        stored.iter_chunks("media/video.mp4", 0)
    with pytest.raises(ValueError):
        stored.iter_chunks("media/video.mp4", MIB, -1)
    with pytest.raises(ValueError):
        stored.read_range("media/video.mp4", -1, 10)
    with pytest.raises(ValueError):
        stored.read_range("media/video.mp4", 0, -1)


# -- health and configuration --------------------------------------------------


def test_check_and_describe(store):
    store.check()
    text = store.describe()
    assert text.startswith(("file:///", "s3://"))
    assert "secret" not in text and "pushwire-test" not in text


def test_check_fails_when_local_root_vanishes(tmp_path):
    store = open_store(f"file://{tmp_path / 'staging'}")
    os.rmdir(tmp_path / "staging")
    with pytest.raises(StagingError):
        store.check()
    with pytest.raises(StagingError):
        store.write("a", [b"x"])


def test_check_fails_on_unreachable_s3():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = open_store("s3://bucket/x", **s3_store_options(f"http://127.0.0.1:{port}"))
    started = time.monotonic()
    with pytest.raises(StagingError) as excinfo:
        store.check()
    assert excinfo.value.transient is True
    assert time.monotonic() - started < 5


def test_check_fails_on_missing_bucket(s3_endpoint):  # noqa: F811
    store = open_store("s3://no-such-bucket-here", **s3_store_options(s3_endpoint))
    with pytest.raises(StagingError):
        store.check()


def test_open_store_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rel = open_store("file://./var/staging")
    assert rel.root == str(tmp_path / "var" / "staging") and os.path.isdir(rel.root)
    absolute = open_store(f"file://{tmp_path}/abs%20dir")
    assert absolute.root == str(tmp_path / "abs dir")
    s3 = open_store("s3://bucket/some/prefix/", s3_endpoint_url="http://127.0.0.1:9")
    assert s3.describe() == "s3://bucket/some/prefix @ http://127.0.0.1:9"
    assert s3.s3_key("a/b") == "some/prefix/a/b"
    for bad in ("ftp://x/y", "/plain/path", "file:relative", "s3:///prefix", "s3://b/../x"):
        with pytest.raises(ValueError):
            open_store(bad)


# -- S3 resilience and memory ----------------------------------------------------


def test_s3_download_reopens_after_dropped_connection(s3_endpoint, payload):  # noqa: F811
    bucket = f"stg-{uuid.uuid4().hex[:16]}"
    direct = open_store(f"s3://{bucket}/p", **s3_store_options(s3_endpoint), create_bucket=True)
    direct.write("v", chunked(payload))
    host, port = s3_endpoint.rsplit("/", 1)[1].split(":")
    proxy = DroppingProxy((host, int(port)), after=3 * MIB, drops=2)
    try:
        flaky = open_store(f"s3://{bucket}/p", **s3_store_options(proxy.endpoint))
        chunks = list(flaky.iter_chunks("v", 4 * MIB + 1))
    finally:
        proxy.close()
    assert sha(b"".join(chunks)) == sha(payload)
    assert proxy.drops == 0 and proxy.connections == 3  # one GET, two re-opens


@pytest.mark.parametrize("kind", BACKENDS)
def test_memory_stays_bounded(kind, tmp_path, request):
    store = make_store(kind, tmp_path, request, chunk_size=8 * MIB, max_concurrency=4)
    store.check()  # create clients outside the measurement
    block, total = os.urandom(MIB), 200 * MIB

    def chunks():
        for _ in range(total // MIB):
            yield block

    tracemalloc.start()
    try:
        assert store.write("big", chunks()) == total
        write_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        read = sum(len(c) for c in store.iter_chunks("big", 8 * MIB))
        read_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"{kind}: write peak {write_peak / MIB:.1f} MiB, read peak {read_peak / MIB:.1f} MiB")
    assert read == total
    assert write_peak < 64 * MIB and read_peak < 32 * MIB


def test_s3_object_removed_under_a_reader_is_missing(tmp_path, request, payload):
    """A staged object deleted (a lifecycle rule) after its upload started reading: the
    re-open at the next offset says the object is missing, with S3's own code, not a
    retryable store fault (the pipeline downloads the video again on this error)."""
    store = make_store("s3", tmp_path, request)
    store.write("media/video.mp4", chunked(payload))
    reader = store.reader("media/video.mp4")
    assert reader.read(0, MIB) == payload[:MIB]
    reader.close()
    make_client(store.endpoint_url).delete_object(Bucket=store.bucket, Key=store.s3_key("media/video.mp4"))
    with pytest.raises(StagedObjectMissing) as excinfo:
        reader.read(MIB, MIB)
    assert excinfo.value.transient is False and excinfo.value.key == "media/video.mp4"
    assert "NoSuchKey" in str(excinfo.value) and store.bucket in str(excinfo.value)
    with pytest.raises(StagedObjectMissing) as excinfo:
        next(store.iter_chunks("media/video.mp4", MIB))
    assert "NoSuchKey" in str(excinfo.value)


def test_s3_access_denied_on_a_key_names_the_missing_permissions():
    from botocore.exceptions import ClientError

    from app.staging.s3 import _translate

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                          "ResponseMetadata": {"HTTPStatusCode": 403}}, "GetObject")
    error = _translate(denied, "get", "tok/source")
    assert not isinstance(error, StagedObjectMissing) and not error.transient
    assert "s3:ListBucket" in str(error) and "s3:GetObject" in str(error) and "'tok/source'" in str(error)
    assert "ListBucket" not in str(_translate(denied, "check"))  # not about one key: no guess
