"""Storage faults: the S3 server cut off mid-staging and mid-upload (a real stack,
S3 behind a proxy the test cuts), and the local store's disk full (a 2 MB tmpfs)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time

import pytest

from app import create_app
from app.models import PushRequest, StageAttempt
from app.pipeline.outcome import Retry
from app.pipeline.download import AUDIT_NAME, run_download
from tests.faults.conftest import MB
from tests.gateway.conftest import ApiClient, make_identity, make_site
from tests.support.origin import make_video


def _stages(fs, token: str, stage: str) -> list[tuple[str, str | None]]:
    return [(a["outcome"], a["error_reason"]) for a in fs.client.status(token)["audit"]["stages"]
            if a["stage"] == stage]


@pytest.mark.e2e
def test_s3_cut_off_mid_staging_the_stage_retries_and_nothing_is_corrupt(fault_stack):
    fs = fault_stack
    start = len(fs.sent)
    fs.s3.cut_after(7 * MB)  # past the first 5 MB part of the staging upload
    video = fs.push_video("s3-staging", size=12 * MB)
    assert video.status == 200, video
    try:
        assert fs.s3.cut.wait(30), "the staging upload never reached the S3 server"
        state_at_cut = fs.client.status(video.token)["state"]
        time.sleep(3)  # S3 stays away longer than a client's own quick retries
    finally:
        fs.s3.start()
    fs.check_all(fs.sent[start:], timeout=90)  # succeeded exactly once, callback delivered
    assert state_at_cut == "staging"
    stages = _stages(fs, video.token, AUDIT_NAME)
    assert stages[-1][0] == "succeeded" and all(reason == "download_failed" for _, reason in stages[:-1]), stages
    x = fs.fakes["twitter"].state
    media = [m for m in x.media.values() if m["sha256"] == video.marker]
    assert len(media) == 1  # the bytes at the provider are the source's: nothing corrupt
    print("\nS3 cut mid-staging, stage attempts:", _stages(fs, video.token, AUDIT_NAME))


@pytest.mark.e2e
def test_s3_cut_off_mid_upload_the_upload_resumes(fault_stack):
    fs = fault_stack
    x = fs.fakes["twitter"].state
    x.faults.add("append", "slow", count=32, delay=0.15)  # segments of 1 MB, each taking 0.15 s
    start = len(fs.sent)
    log = fs.stack.logdir / "worker.log"
    reopened_before = log.read_text(errors="replace").count("re-opening")
    try:
        video = fs.push_video("s3-upload", size=32 * MB)  # more than the sockets on the way can buffer
        assert video.status == 200, video
        deadline = time.time() + 30
        while time.time() < deadline:
            data = fs.client.status(video.token)
            if data["state"] == "uploading" and any(a["stage"] == "upload" and a["bytes_moved"] >= 2 * MB
                                                    for a in data["audit"]["stages"]):
                break
            time.sleep(0.05)
        fs.s3.stop()  # the staged object is being read back in segments
        time.sleep(4)
        fs.s3.start()
    finally:
        x.faults.clear()
    fs.check_all(fs.sent[start:], timeout=90)
    media = [m for m in x.media.values() if m["sha256"] == video.marker]
    assert len(media) == 1  # the provider got the source's bytes: nothing corrupt
    uploads = [a for a in fs.client.status(video.token)["audit"]["stages"] if a["stage"] == "upload"]
    reopened = log.read_text(errors="replace").count("re-opening") - reopened_before
    print("\nS3 cut mid-upload, upload attempts:", [(a["outcome"], a["error_reason"]) for a in uploads],
          "re-opened reads:", reopened)
    assert uploads[-1]["outcome"] == "succeeded"
    assert all(a["error_reason"] == "staging_unavailable" for a in uploads[:-1]), uploads
    # The cut hit the read: it was re-opened at its offset, or the attempt retried (resuming its segments).
    assert reopened or len(uploads) > 1
    media_id = next(k for k, m in x.media.items() if m["sha256"] == video.marker)
    segments = 33  # 32 MB plus a few bytes, in 1 MB segments
    assert x.append_calls(media_id) <= segments + 1  # resumed at its segment: at most the one cut off again



@pytest.fixture()
def small_disk(tmp_path):
    """A 2 MB tmpfs (root only), grown to 32 MB by ``grow()``."""
    mount = tmp_path / "small"
    mount.mkdir()
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True,
                         text=True)
    if out.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {out.stderr.strip()}")

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=32m", str(mount)], check=True)

    try:
        yield mount, grow
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _files(root) -> list[str]:
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


def test_local_store_disk_full_fails_the_attempt_with_staging_full_and_retries(settings, small_disk, origin):
    mount, grow = small_disk
    app = create_app(settings.model_copy(update={"staging_url": f"file://{mount}", "broker_url": "memory://"}))
    rt = app.extensions["pushwire"]
    try:
        site = make_site(app, "disk-full")
        video = make_video(3 * MB, seed=31)
        resp = ApiClient(app.test_client(), site).post(
            f"/push/identities/{make_identity(app, site)}/twitter/video.json",
            {"request": {"push": {"video": {"video_url": origin.add("full.mp4", video)}}}})
        assert resp.status_code == 200, resp.json
        token = resp.json["response"]["result"]["data"]["request_token"]
        with rt.db.session() as session:
            request_id = session.query(PushRequest).filter_by(token=token).one().id

        with pytest.raises(Retry) as retry:
            run_download(rt, request_id, "task-1")
        assert retry.value.reason == "staging_full"
        with rt.db.session() as session:
            attempt = session.query(StageAttempt).filter_by(request_id=request_id).one()
            assert (attempt.outcome, attempt.error_reason) == ("retrying", "staging_full"), attempt.error_info
            assert "full" in attempt.error_info and attempt.retry_at is not None
        assert _files(mount) == []  # no partial file left behind

        grow()  # space freed: the retry goes through
        assert run_download(rt, request_id, "task-1") == "staged"
        with rt.db.session() as session:
            push = session.get(PushRequest, request_id)
            assert push.staged_bytes == len(video)
        assert [os.path.getsize(p) for p in _files(mount)] == [len(video)]
        staged = _files(mount)[0]
        with open(staged, "rb") as f:
            assert hashlib.sha256(f.read()).digest() == hashlib.sha256(video).digest()
    finally:
        rt.db.engine.dispose()
