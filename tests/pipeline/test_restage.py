"""A staged video removed from the store under the pipeline (a lifecycle rule, a disk
clean-up): the push goes back to the download step once, then fails with a reason
that says so (``staged_media_missing``), never as an internal error."""

from __future__ import annotations

from app.pipeline.download import run_download
from app.pipeline.transcode import run_transcode
from app.pipeline.upload import run_upload
from tests.pipeline.conftest import attempts, audit, request
from tests.support.origin import make_video


def _staged(rt, make_push, origin, name: str) -> int:
    """A video push downloaded and prepared (passed through), ready for the upload."""
    request_id = make_push({"video_url": origin.add(name, make_video(300_000, seed=7))}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "staged"
    assert run_transcode(rt, request_id, "t-transcode") == "pass"
    return request_id


def _republished(rt, request_id: int) -> list[tuple]:
    """Take every message off the in-memory ``staging`` queue (shared by the whole test
    process, so none may stay behind): ``(task, args, following tasks)`` of this request's."""
    out = []
    with rt.celery.connection_for_write() as conn:
        queue = conn.SimpleQueue("staging")
        try:
            while True:
                message = queue.get(block=False)
                message.ack()
                chain = message.payload[2].get("chain") or []
                if message.headers["argsrepr"] == f"({request_id},)":
                    out.append((message.headers["task"], message.headers["argsrepr"],
                                [s["task"] for s in reversed(chain)]))
        except queue.Empty:
            pass
        finally:
            queue.close()
    return out


def _vanish(rt, request_id: int) -> str:
    key = request(rt, request_id).staged_key
    assert rt.store.exists(key)
    rt.store.delete(key)  # what an operator's lifecycle rule does
    return key


def test_a_vanished_staged_video_is_downloaded_again_and_uploaded(rt, make_push, origin, fake):
    request_id = _staged(rt, make_push, origin, "gone-once.mp4")
    _vanish(rt, request_id)

    assert run_upload(rt, request_id, "t-upload") == "restaged"
    push = request(rt, request_id)
    assert (push.state, push.outcome, push.staged_key) == ("waiting", None, None)
    assert (push.resume_stage, push.wait_reason) == ("stage", "staged_media_missing")
    assert push.enqueued_at is not None  # published again at once, not left to the sweeper
    assert _republished(rt, request_id) == [("pushwire.download", f"({request_id},)", ["pushwire.transcode", "pushwire.upload"])]
    assert "media" not in push.progress  # the video is prepared again
    assert attempts(rt, request_id)[-1] == ("upload", 1, "retrying", "staged_media_missing")

    assert run_download(rt, request_id, "t-stage-2") == "staged"
    assert run_transcode(rt, request_id, "t-transcode-2") == "pass"
    assert run_upload(rt, request_id, "t-upload-2") == "succeeded"
    push = request(rt, request_id)
    assert (push.state, push.outcome) == ("succeeded", "succeeded")
    assert len(fake.published) == 1
    trail = audit(rt, request_id)
    assert [row[1] for row in trail] == ["queued", "staging", "transcoding", "uploading", "waiting", "staging",
                                         "transcoding", "uploading", "processing", "succeeded"]
    why = trail[4][2]
    assert why.startswith("staged_media_missing: The staged copy of the video was removed from the staging store")
    assert "PUSHWIRE_STAGING_URL" in why and rt.store.describe() in why
    assert [a[:3] for a in attempts(rt, request_id)] == [
        ("stage", 1, "succeeded"), ("transcode", 1, "succeeded"), ("upload", 1, "retrying"),
        ("stage", 2, "succeeded"), ("transcode", 2, "succeeded"), ("upload", 2, "succeeded")]


def test_a_vanished_video_whose_source_is_gone_too_fails_with_the_reason(rt, make_push, origin):
    request_id = _staged(rt, make_push, origin, "gone-source.mp4")
    _vanish(rt, request_id)
    del origin.files["gone-source.mp4"]  # the site removed it meanwhile: HTTP 404

    assert run_upload(rt, request_id, "t-upload") == "restaged"
    assert len(_republished(rt, request_id)) == 1
    assert run_download(rt, request_id, "t-stage-2") == "failed"
    push = request(rt, request_id)
    assert (push.state, push.outcome, push.error_reason) == ("failed", "failed", "staged_media_missing")
    assert push.error_info.startswith("The staged copy of the video was removed from the staging store")
    assert "PUSHWIRE_STAGING_URL" in push.error_info
    assert "the source could not be downloaded again (source_unavailable): The video_url answered HTTP 404" \
        in push.error_info
    assert attempts(rt, request_id)[-1] == ("stage", 2, "failed", "staged_media_missing")


def test_a_video_that_vanishes_twice_fails_with_the_reason(rt, make_push, origin, fake):
    request_id = _staged(rt, make_push, origin, "gone-twice.mp4")
    _vanish(rt, request_id)
    assert run_upload(rt, request_id, "t-upload") == "restaged"
    assert len(_republished(rt, request_id)) == 1
    assert run_download(rt, request_id, "t-stage-2") == "staged"
    assert run_transcode(rt, request_id, "t-transcode-2") == "pass"
    _vanish(rt, request_id)

    assert run_upload(rt, request_id, "t-upload-2") == "failed"
    push = request(rt, request_id)
    assert (push.state, push.outcome, push.error_reason) == ("failed", "failed", "staged_media_missing")
    assert "removed from the staging store" in push.error_info and "a second time" in push.error_info
    assert fake.published == []


def test_a_video_vanished_before_the_transcode_stage_is_downloaded_again(rt, make_push, origin):
    """The local store hands FFmpeg its own file: a missing one must not read as ``video_unreadable``."""
    request_id = make_push({"video_url": origin.add("gone-early.mp4", make_video(300_000, seed=8))}, kind="video")
    assert run_download(rt, request_id, "t-stage") == "staged"
    _vanish(rt, request_id)

    assert run_transcode(rt, request_id, "t-transcode") == "restaged"
    assert request(rt, request_id).state == "waiting"
    assert len(_republished(rt, request_id)) == 1
    assert run_download(rt, request_id, "t-stage-2") == "staged"
    assert run_transcode(rt, request_id, "t-transcode-2") == "pass"
    assert run_upload(rt, request_id, "t-upload") == "succeeded"
    assert [a[:3] for a in attempts(rt, request_id)][:2] == [("stage", 1, "succeeded"), ("transcode", 1, "retrying")]


def test_no_restart_once_a_publish_step_may_have_run(rt, make_push, origin, fake):
    """A publish marker without an id: the post may exist, so nothing runs again."""
    request_id = _staged(rt, make_push, origin, "gone-published.mp4")
    with rt.db.session() as session:
        from app.models import PushRequest

        push = session.get(PushRequest, request_id)
        push.progress = {**push.progress, "provider": {"post_id_publishing": True}}
    _vanish(rt, request_id)

    assert run_upload(rt, request_id, "t-upload") == "unconfirmed"
    push = request(rt, request_id)
    assert (push.state, push.error_reason) == ("unconfirmed", "staged_media_missing")
    assert "nothing was sent again" in push.error_info
    assert fake.published == []
