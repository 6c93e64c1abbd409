"""Uploads read staged media as one stream from the S3 store (moto server, subprocess).

The YouTube and Facebook adapters ask for their chunks by offset; the staged
object must still be read with ONE GET per upload, plus one per resume: after
a dropped stream, after the provider committed less than was sent (a YouTube
308), after a Facebook 1363037 resync. Each case checks, at the fake, that
every byte arrived and was committed exactly once (sha256 of the assembled
video, contiguous committed ranges).
"""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from app.providers.base import PushContext, StagedMedia
from app.providers.errors import TransientError
from app.providers.facebook import FacebookAdapter
from app.providers.fake import RecordingHooks
from app.providers.youtube import YouTubeAdapter
from app.staging import open_store
from sandbox.facebook import create_app as create_facebook
from sandbox.youtube import create_app as create_youtube
from tests.support.dropproxy import DroppingProxy
from tests.support.fakes import served
from tests.support.s3server import s3_endpoint, s3_store_options  # noqa: F401

MIB = 1024 * 1024
Q = 256 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def video(size: int) -> bytes:
    return MP4_HEAD + os.urandom(size - len(MP4_HEAD))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class GetCounter:
    """Counts the GetObject requests a store's boto3 client sends (retries included)."""

    def __init__(self, store) -> None:
        self.count = 0
        store._client().meta.events.register("before-send.s3.GetObject", self._seen)

    def _seen(self, **_kwargs) -> None:
        self.count += 1


@pytest.fixture()
def bucket(s3_endpoint):  # noqa: F811
    name = f"rd-{uuid.uuid4().hex[:16]}"
    open_store(f"s3://{name}/p", **s3_store_options(s3_endpoint), create_bucket=True)
    return name


def staged_on_s3(endpoint: str, bucket: str, data: bytes, read_via: str | None = None) -> StagedMedia:
    """``data`` written to the bucket at ``endpoint``, read back through ``read_via`` (a proxy)."""
    open_store(f"s3://{bucket}/p", **s3_store_options(endpoint)).write("v.mp4", [data])
    store = open_store(f"s3://{bucket}/p", **s3_store_options(read_via or endpoint))
    return StagedMedia(store, "v.mp4", len(data), "mpeg4", "video/mp4")


def through_proxy(s3_endpoint: str, after: int, drops: int) -> DroppingProxy:  # noqa: F811
    host, port = s3_endpoint.rsplit("/", 1)[1].split(":")
    return DroppingProxy((host, int(port)), after=after, drops=drops)


# -- YouTube ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def youtube_server():
    yield from served(create_youtube(processing_seconds=0.0))


@pytest.fixture()
def youtube(youtube_server):
    youtube_server.state.reset()
    youtube_server.state.processing_seconds = 0.0
    user = youtube_server.state.add_user("42", "alice")
    adapter = YouTubeAdapter(youtube_server.url, client_id="sandbox-client", client_secret="sandbox-secret",
                             token_url=youtube_server.url + "/token", chunk_size=4 * Q, poll_interval=0.02,
                             timeout=10)
    return adapter, youtube_server.state, user


def youtube_ctx(user, staged: StagedMedia) -> PushContext:
    return PushContext(request_token="t", kind="video", payload={"title": "T", "video_url": "https://o/v.mp4"},
                       access_token=user["access_token"], provider_user_id=user["user_id"], profile={},
                       staged=staged, hooks=RecordingHooks())


def assert_youtube_once(fake, outcome, data: bytes) -> list:
    session = fake.session_for_video(outcome.provider_ids["video_id"])
    assert session.sha256 == sha(data)
    for before, after in zip(session.ranges, session.ranges[1:]):
        assert after[0] == before[2]  # each PUT starts where the committed bytes end
    return session.ranges


def test_youtube_upload_reads_the_staged_object_with_one_get(youtube, s3_endpoint, bucket):  # noqa: F811
    adapter, fake, user = youtube
    data = video(5 * MIB + 123)  # 6 chunks of 1 MiB: the per-chunk reads opened 6 GETs
    staged = staged_on_s3(s3_endpoint, bucket, data)
    gets = GetCounter(staged.store)
    outcome = adapter.push(youtube_ctx(user, staged))
    ranges = assert_youtube_once(fake, outcome, data)
    assert len(ranges) == 6
    assert gets.count == 1 and staged.gets == 1


def test_youtube_upload_resumes_the_stream_after_it_drops(youtube, s3_endpoint, bucket):  # noqa: F811
    adapter, fake, user = youtube
    data = video(5 * MIB + 123)
    proxy = through_proxy(s3_endpoint, after=2 * MIB, drops=2)
    try:
        staged = staged_on_s3(s3_endpoint, bucket, data, read_via=proxy.endpoint)
        gets = GetCounter(staged.store)
        outcome = adapter.push(youtube_ctx(user, staged))
    finally:
        proxy.close()
    ranges = assert_youtube_once(fake, outcome, data)
    assert [r[0] for r in ranges] == [i * MIB for i in range(6)]  # the drops never reached YouTube
    assert proxy.drops == 0 and gets.count == 3 and staged.gets == 3  # one GET, one per drop


def test_youtube_308_that_committed_less_reopens_the_stream_there(youtube, s3_endpoint, bucket):  # noqa: F811
    adapter, fake, user = youtube
    data = video(5 * MIB + 123)
    fake.faults.add("chunk", "reset_mid_chunk", fraction=0.6)  # 1 MiB sent, 512 KiB committed
    staged = staged_on_s3(s3_endpoint, bucket, data)
    gets = GetCounter(staged.store)
    outcome = adapter.push(youtube_ctx(user, staged))
    ranges = assert_youtube_once(fake, outcome, data)
    assert ranges[0] == (0, MIB - 1, 2 * Q) and ranges[1][0] == 2 * Q
    assert gets.count == 2 and staged.gets == 2  # one GET, one re-open at the committed offset


# -- Facebook -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def facebook_server():
    yield from served(create_facebook(processing_polls=1, windows=(MIB, 3 * MIB, 2 * MIB)))


@pytest.fixture()
def facebook(facebook_server):
    facebook_server.state.reset()
    user = facebook_server.state.add_user("100", "alice")
    adapter = FacebookAdapter(facebook_server.url, version="v27.0", poll_max=0.01, timeout=10)
    return adapter, facebook_server.state, user


def facebook_ctx(user, staged: StagedMedia, progress: dict | None = None,
                 hooks: RecordingHooks | None = None) -> PushContext:
    return PushContext(request_token="rt", kind="page/video",
                       payload={"id": user["page_id"], "video_url": "https://o/v.mp4", "title": "T"},
                       access_token=user["access_token"], provider_user_id="100", profile={}, staged=staged,
                       progress=progress or {}, hooks=hooks or RecordingHooks())


def assert_facebook_once(fake, outcome, data: bytes) -> list:
    video_ = fake.videos[outcome.provider_ids["video_id"]]
    assert video_["sha256"] == sha(data)
    ranges = [(s, e) for s, e, _ in video_.ranges]
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))  # contiguous: no byte committed twice
    return ranges


def test_facebook_upload_reads_the_staged_object_with_one_get(facebook, s3_endpoint, bucket):  # noqa: F811
    adapter, fake, user = facebook
    data = video(8 * MIB + 7)  # windows of 1, 3, 2, 1, 1+ MiB
    staged = staged_on_s3(s3_endpoint, bucket, data)
    gets = GetCounter(staged.store)
    outcome = adapter.push(facebook_ctx(user, staged))
    assert len(assert_facebook_once(fake, outcome, data)) == 5
    assert gets.count == 1 and staged.gets == 1


def test_facebook_upload_resumes_the_stream_after_it_drops(facebook, s3_endpoint, bucket):  # noqa: F811
    adapter, fake, user = facebook
    data = video(8 * MIB + 7)
    proxy = through_proxy(s3_endpoint, after=int(4.5 * MIB), drops=1)
    try:
        staged = staged_on_s3(s3_endpoint, bucket, data, read_via=proxy.endpoint)
        gets = GetCounter(staged.store)
        outcome = adapter.push(facebook_ctx(user, staged))
    finally:
        proxy.close()
    assert len(assert_facebook_once(fake, outcome, data)) == 5
    assert proxy.drops == 0 and gets.count == 2 and staged.gets == 2


def test_facebook_resync_1363037_reopens_the_stream_where_facebook_stands(facebook, s3_endpoint, bucket):  # noqa: F811
    """A worker dies after Facebook acknowledged three windows but the progress saved only
    the first; the redelivered task sends from that stale offset, Facebook answers 1363037
    with its own offsets, and the upload continues there: one re-open, nothing twice."""
    adapter, fake, user = facebook
    data = video(8 * MIB + 7)
    staged = staged_on_s3(s3_endpoint, bucket, data)

    class FailAfterThreeWindows(RecordingHooks):
        def save_progress(self, progress):  # windows [0,1), [1,4), [4,6) MiB acknowledged; the fourth fails
            super().save_progress(progress)
            if progress.get("upload", {}).get("start_offset") == 6 * MIB:
                fake.faults.add("video_transfer", "reset")

    first = facebook_ctx(user, staged, hooks=FailAfterThreeWindows())
    with pytest.raises(TransientError):
        adapter.push(first)
    stale = next(p for p in first.hooks.saved if p["upload"]["start_offset"] == MIB)  # later saves were lost

    staged = staged_on_s3(s3_endpoint, bucket, data)  # the redelivered task's own store and reader
    gets = GetCounter(staged.store)
    outcome = adapter.push(facebook_ctx(user, staged, progress=stale))
    ranges = assert_facebook_once(fake, outcome, data)
    assert ranges == [(0, MIB), (MIB, 4 * MIB), (4 * MIB, 6 * MIB), (6 * MIB, 7 * MIB), (7 * MIB, len(data))]
    transfers = fake.calls.count(endpoint="video_transfer")
    assert transfers == 3 + 1 + 1 + 2  # three acknowledged, one reset, the stale one (resync), two more
    assert gets.count == 2 and staged.gets == 2  # one GET at the stale offset, one re-open at Facebook's
