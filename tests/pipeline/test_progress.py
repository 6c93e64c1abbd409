"""The download step keeps its record in its own namespace of ``progress``."""

from __future__ import annotations

import pytest

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


def _video_through_transcode(rt, make_push, origin, name: str, seed: int) -> int:
    request_id = make_push({"video_url": origin.add(name, make_video(100_000, seed=seed))}, kind="video")
    assert run_download(rt, request_id, "t1") == "staged"
    assert run_transcode(rt, request_id, "t2") == "pass"
    return request_id


def test_the_adapter_sees_and_saves_only_its_own_section(rt, make_push, fake, origin):
    """``ctx.progress`` holds none of the stages' keys, and what the adapter saves lands
    under ``progress["provider"]`` beside them (failed before: the adapter was handed
    the whole row, ``download`` and ``media`` included, and saved it flat)."""
    request_id = _video_through_transcode(rt, make_push, origin, "own.mp4", 7)
    seen, rows = [], []

    def step(ctx):
        seen.append(dict(ctx.progress))
        ctx.progress["upload_session"] = "s-1"
        ctx.save_progress(ctx.progress)
        rows.append(dict(request(rt, request_id).progress))
        return fake.publish(ctx)

    fake.script.append(step)
    assert run_upload(rt, request_id, "t3") == "succeeded"
    assert seen == [{}]
    assert rows[0]["provider"] == {"upload_session": "s-1"}
    assert set(rows[0]) == {"download", "media", "provider"}
    progress = request(rt, request_id).progress
    assert set(progress) == {"download", "media", "provider"}
    assert progress["provider"] == {"upload_session": "s-1", "post_id": fake.published[0]}
    assert progress["media"]["done"] is True and progress["download"]["format"] == "mpeg4"


def test_an_adapters_flat_keys_of_the_previous_release_are_its_section(rt, make_push, fake):
    """A row written before the namespaces, in flight across the upgrade: its flat adapter
    keys are the adapter's section (an id published then is not published again), and
    they move under ``provider`` when the push ends."""
    request_id = make_push({"video_url": "http://127.0.0.1:9/old.mp4"}, kind="video")
    key = f"{request(rt, request_id).token}/source"
    size = rt.store.write(key, iter([make_video(50_000, seed=8)]))
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        push.staged_key, push.staged_bytes = key, size
        push.progress = {"format": "mpeg4", "mime_type": "video/mp4", "post_id": "77", "segments_done": 3}
    assert run_upload(rt, request_id, "t1") == "succeeded"
    assert fake.calls[0].progress["segments_done"] == 3
    assert "format" not in fake.calls[0].progress
    assert fake.published == []  # publish_once found the id the previous release saved
    push = request(rt, request_id)
    assert push.result["post_id"] == "77"
    assert push.progress == {"format": "mpeg4", "mime_type": "video/mp4",
                             "provider": {"post_id": "77", "segments_done": 3}}


def test_the_status_answer_of_a_finished_push_keeps_its_shape(rt, make_push, fake, origin):
    """The status API shows the media section as ``audit.media`` and nothing else of
    ``progress``: the adapter's and the stream's sections never reach the answer."""
    from app.status.render import render_request

    request_id = _video_through_transcode(rt, make_push, origin, "status.mp4", 9)
    assert run_upload(rt, request_id, "t3") == "succeeded"
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id)
        push.progress = {**push.progress, "stream": {"comments_seen": "c1"}}
        session.flush()
        answer = render_request(session, push)
        media = dict(push.progress["media"])
    assert set(answer) == {"request_token", "identity_token", "provider", "kind", "resource", "state", "outcome",
                           "provider_ids", "date_creation", "date_last_update", "date_finished", "result",
                           "callback", "audit"}
    assert set(answer["audit"]) == {"media", "stages", "callbacks", "transitions"}
    assert answer["audit"]["media"] == media
    assert set(media) >= {"network", "spec", "probe", "decision", "done"}
    assert answer["provider"] == "twitter" and answer["provider_ids"] == {"post_id": fake.published[0]}
    text = repr(answer)
    assert "comments_seen" not in text and "post_id_publishing" not in text


def test_a_push_context_needs_the_stages_hooks():
    from app.providers.base import PushContext
    from app.providers.fake import RecordingHooks

    fields = dict(request_token="t", kind="post", payload={}, access_token="a", provider_user_id="u", profile={})
    with pytest.raises(TypeError):
        PushContext(**fields)
    with pytest.raises(TypeError):
        PushContext(**fields, hooks=object())
    ctx = PushContext(**fields, hooks=RecordingHooks())
    ctx.save_progress({"k": 1})
    ctx.report_bytes(5)
    ctx.mark_processing()
    ctx.sleep(0.5)
    assert (ctx.hooks.saved, ctx.hooks.reported, ctx.hooks.processing, ctx.hooks.slept) == ([{"k": 1}], [5], 1, [0.5])
    with pytest.raises(AssertionError):
        ctx.download("https://o/p.png", 10)
