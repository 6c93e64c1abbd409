"""When the staged copy of a video vanishes: download it again, once.

An operator's lifecycle rule, a disk clean-up or a bucket mix-up can remove a
staged object before the transcode or upload stage reads it
(``StagedObjectMissing``). The source may still be there, so the request goes
back to the download step once: it is parked (state ``waiting``) with
``resume_stage="stage"``, due at once, its staged key and media preparation
cleared, and its chain (download, transcode, upload) published again. The
provider upload then starts from zero; a publish step that may have run is
never repeated: such a push ends ``unconfirmed`` instead.

If the copy vanishes a second time, or the source cannot be downloaded again,
the push fails with ``staged_media_missing`` and an ``info`` naming the store.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app import progress as sections
from app.models import PushRequest, StageAttempt, utcnow
from app.pipeline.outcome import fail
from app.states import FINAL_STATES, WAITING, end_attempt, move

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)

REASON = "staged_media_missing"
#: ``progress`` key set when a request went back to the download step (app.progress.Restaged).
MARK = sections.RESTAGED


def gone_info(rt: Runtime) -> str:
    """What happened, in words an operator can act on (no secrets: ``describe()``)."""
    return ("The staged copy of the video was removed from the staging store "
            f"({rt.store.describe()}); check lifecycle rules and clean-up jobs on PUSHWIRE_STAGING_URL")


def restaged(progress: dict | None) -> bool:
    """Whether this request already went back to the download step once."""
    return sections.restaged(progress) is not None


def download_failure(progress: dict | None, reason: str, info: str, rt: Runtime) -> tuple[str, str]:
    """The reason and info of a failed download: a re-download after the staged copy
    vanished fails as ``staged_media_missing``, saying both things."""
    if not restaged(progress):
        return reason, info
    return REASON, f"{gone_info(rt)}; the source could not be downloaded again ({reason}): {info}"


def restage(rt: Runtime, request_id: int, attempt_id: int, stage: str, key: str) -> str:
    """Handle ``StagedObjectMissing`` in ``stage`` (``transcode`` or ``upload``):
    go back to the download step, or fail when that was tried already. Returns
    ``"restaged"``, ``"failed"``, ``"unconfirmed"`` or ``"skipped"``."""
    from app.broker.publish import publish_resume

    gone = gone_info(rt)
    now = utcnow()
    with rt.db.session() as session:
        push = session.get(PushRequest, request_id, with_for_update=True)
        attempt = session.get(StageAttempt, attempt_id)
        if push is None or push.outcome or push.state in FINAL_STATES:
            return "skipped"
        progress = dict(push.progress or {})
        if sections.publishes_started(sections.provider(progress)):  # a publish step may have run: never again
            info = (f"{gone} while the {stage} stage read it, after a publish step had started; it may or may "
                    "not have been published, so nothing was sent again. Check the account.")
            end_attempt(attempt, "unconfirmed", reason=REASON, info=info)
            fail(session, push, code=500, reason=REASON, info=info, unconfirmed=True)
            outcome = "unconfirmed"
        elif restaged(progress):
            info = (f"{gone}, a second time after the video was downloaded again "
                    f"(the {stage} stage could not read it); Pushwire gave up.")
            end_attempt(attempt, "failed", reason=REASON, info=info)
            fail(session, push, code=500, reason=REASON, info=info)
            outcome = "failed"
        else:
            info = f"{gone}; the video is downloaded again from its video_url."
            end_attempt(attempt, "retrying", reason=REASON, info=info)
            # The provider upload starts again from zero: none of its progress is kept.
            move(session, request_id, push.state, WAITING, f"{REASON}: {info}",
                 resume_stage="stage", resume_at=now, wait_reason=REASON, wait_info=info, enqueued_at=now,
                 staged_key=None, staged_bytes=None,
                 progress={MARK: sections.Restaged(stage=stage, key=key, at=now.isoformat())})
            outcome = "restaged"
        callback = bool(push.callback_url)
    rt.store.delete(key)  # whatever is left of it
    if outcome != "restaged":
        return outcome
    log.warning("request %s: staged %r vanished in the %s stage; downloading it again", request_id, key, stage)
    try:  # claimed above (enqueued_at): the sweeper publishes it only if this message is lost
        publish_resume(rt.celery, request_id, "stage", callback)
    except Exception:
        log.exception("could not publish request %s again; the sweeper will", request_id)
        with rt.db.session() as session:
            session.query(PushRequest).filter(PushRequest.id == request_id, PushRequest.state == WAITING).update(
                {"enqueued_at": None}, synchronize_session=False)
    return outcome
