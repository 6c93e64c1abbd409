"""Every way a push ends goes through ``states.finish``: the audits read alike.

The text fast path (ids written without reading rows back) and the staged path
(ORM, with a stream event) must leave the same row and the same final transitions;
failures end the same way whether the provider refused or the worker kept dying.
"""

from __future__ import annotations

import pytest

from app.pipeline.callbacks import run_callback
from app.pipeline.download import run_download
from app.pipeline.transcode import run_transcode
from app.pipeline.upload import run_upload
from app.providers.errors import InvalidInput
from tests.pipeline.conftest import attempts, audit, request
from tests.support.origin import make_video


def _ending(rt, request_id: int) -> tuple:
    """What the end of a push looks like, whatever its path: the row's outcome
    columns and the transitions from the provider work on."""
    push = request(rt, request_id)
    trail = audit(rt, request_id)
    start = next(i for i, row in enumerate(trail) if row[1] in ("delivering_callback", "succeeded", "failed",
                                                                 "unconfirmed"))
    return (push.state, push.outcome, push.error_reason, push.finished_at is not None,
            push.next_callback_at, [row[1:] for row in trail[start:]])


def _run_to_the_end(rt, request_id: int, staged: bool) -> list[str]:
    done = []
    if staged:
        done.append(run_download(rt, request_id, "t-stage"))
        done.append(run_transcode(rt, request_id, "t-transcode"))
    done.append(run_upload(rt, request_id, "t-upload"))
    if request(rt, request_id).state == "delivering_callback":
        assert run_callback(rt, request_id) is None
        done.append("callback")
    return done


@pytest.mark.parametrize("callback", [True, False], ids=["callback", "no-callback"])
def test_both_success_paths_end_alike(rt, make_push, origin, receiver, callback):
    extra = {"callback_url": receiver.url} if callback else {}
    text_id = make_push({"message": "hello", **extra})
    video_id = make_push({"video_url": origin.add("p.mp4", make_video(300_000, seed=1)), **extra}, kind="video")

    assert _run_to_the_end(rt, text_id, staged=False) == ["succeeded"] + (["callback"] if callback else [])
    assert _run_to_the_end(rt, video_id, staged=True) == ["staged", "pass", "succeeded"] + (
        ["callback"] if callback else [])

    text_end, video_end = _ending(rt, text_id), _ending(rt, video_id)
    assert text_end == video_end
    if callback:
        assert text_end[-1] == [("delivering_callback", "provider work done"),
                                ("succeeded", "callback delivered")]
        assert len(receiver.delivered_for(request(rt, text_id).token)) == 1
    else:
        assert text_end[-1] == [("succeeded", "provider work done")]
    assert audit(rt, text_id)[:2] == [(None, "queued", "accepted"), ("queued", "uploading", "provider upload started")]
    assert [row[1] for row in audit(rt, video_id)][:6] == ["queued", "staging", "transcoding", "uploading",
                                                           "processing",
                                                           "delivering_callback" if callback else "succeeded"]
    for request_id in (text_id, video_id):
        push = request(rt, request_id)
        assert push.result["post_id"] == push.provider_ids["post_id"]
        assert push.progress["provider"]["post_id"] == push.result["post_id"]


def test_failures_end_alike_whatever_failed(rt, make_push, fake, origin, receiver):
    """A provider refusal (upload), a refused source (download) and a poison message
    (worker died too often) each end in ``delivering_callback`` then ``failed``."""
    refused = make_push({"message": "x", "callback_url": receiver.url})
    fake.script.append(InvalidInput("The text is too long.", reason="text_too_long"))
    bad_source = make_push({"video_url": origin.add_status("gone.mp4", 404), "callback_url": receiver.url},
                           kind="video")
    assert run_upload(rt, refused, "t1") == "failed"
    assert run_download(rt, bad_source, "t2") == "failed"
    endings = {}
    for request_id in (refused, bad_source):
        assert run_callback(rt, request_id) is None
        state, outcome, _reason, finished, next_at, tail = _ending(rt, request_id)
        endings[request_id] = (state, outcome, finished, next_at, [to for to, _why in tail])
        assert tail[0][1].startswith(f"{request(rt, request_id).error_reason}: ")
        assert tail[1] == ("failed", "callback delivered")
    assert endings[refused] == endings[bad_source] == ("failed", "failed", True, None,
                                                       ["delivering_callback", "failed"])
    assert attempts(rt, refused) == [("upload", 1, "failed", "text_too_long")]
    assert attempts(rt, bad_source) == [("stage", 1, "failed", "source_unavailable")]
