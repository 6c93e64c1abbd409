"""The download step keeps its record in its own namespace of ``progress``."""

from __future__ import annotations

from app.models import PushRequest
from app.pipeline.download import run_download
from app.pipeline.transcode import run_transcode
from app.pipeline.upload import run_upload
from tests.pipeline.conftest import request
from tests.support.origin import make_video


def test_the_download_step_writes_only_its_own_namespace(rt, make_push, fake, origin):
    request_id = make_push({"video_url": origin.add("ns.mp4", make_video(100_000, seed=5))}, kind="video")
    assert run_download(rt, request_id, "t1") == "staged"
    assert request(rt, request_id).progress == {"download": {"format": "mpeg4", "mime_type": "video/mp4"}}
    run_transcode(rt, request_id, "t2")  # the transcode step reads the namespace (and may rewrite it)
    assert run_upload(rt, request_id, "t3") == "succeeded"
    staged = fake.calls[0].staged
    assert (staged.format, staged.mime_type, staged.size) == ("mpeg4", "video/mp4", 100_000)
    assert request(rt, request_id).progress["download"] == {"format": "mpeg4", "mime_type": "video/mp4"}


def test_a_row_staged_before_the_namespace_still_uploads(rt, make_push, fake):
    """In-flight rows of the previous release keep ``format`` / ``mime_type`` at the top."""
    request_id = make_push({"video_url": "http://127.0.0.1:9/old.mov"}, kind="video")
    key = f"{request(rt, request_id).token}/source"
    size = rt.store.write(key, iter([make_video(50_000, seed=6)]))
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        push.staged_key, push.staged_bytes = key, size
        push.progress = {"format": "mov", "mime_type": "video/quicktime"}
    assert run_upload(rt, request_id, "t1") == "succeeded"
    staged = fake.calls[0].staged
    assert (staged.format, staged.mime_type) == ("mov", "video/quicktime")
