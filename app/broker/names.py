"""Task names and queues: the wire contract between the gateway, beat and the workers.

Renaming a task or a queue strands messages already queued: add a new name and keep
the old one registered instead (as ``DOWNLOAD_LEGACY``), and deploy the workers
before the gateways that publish the new name.
"""

from __future__ import annotations

#: The first step of a push with a ``video_url``: download the video into staging.
DOWNLOAD = "pushwire.download"
#: What the download step was called before; still registered, so messages queued
#: under it run (publish only ``DOWNLOAD``).
DOWNLOAD_LEGACY = "pushwire.stage"
#: Between download and upload for videos: probe, then pass through, remux, transcode or refuse.
TRANSCODE = "pushwire.transcode"
UPLOAD = "pushwire.upload"
CALLBACK = "pushwire.callback"
SWEEP = "pushwire.sweep"

STREAM_EXPIRE_MEDIA = "pushwire.stream.expire_twitter_media"
STREAM_CHECK_VANISHED = "pushwire.stream.check_vanished"
STREAM_POLL_COMMENTS = "pushwire.stream.poll_comments"
STREAM_PRUNE_EVENTS = "pushwire.stream.prune_events"

QUEUES = ("staging", "transcode", "upload", "callback", "maintenance")

ROUTES = {
    DOWNLOAD: {"queue": "staging"},
    DOWNLOAD_LEGACY: {"queue": "staging"},
    TRANSCODE: {"queue": "transcode"},
    UPLOAD: {"queue": "upload"},
    CALLBACK: {"queue": "callback"},
    SWEEP: {"queue": "maintenance"},
}

STREAM_TASKS = (STREAM_EXPIRE_MEDIA, STREAM_CHECK_VANISHED, STREAM_POLL_COMMENTS, STREAM_PRUNE_EVENTS)

#: Task name -> the step's name in audit rows, metrics and log lines (``stage`` for the
#: download step, as it has always been shown).
STEP_NAMES = {DOWNLOAD: "stage", DOWNLOAD_LEGACY: "stage", TRANSCODE: "transcode", UPLOAD: "upload", CALLBACK: "callback",
              SWEEP: "sweep", **{name: name.removeprefix("pushwire.") for name in STREAM_TASKS}}


def beat_schedule(settings) -> dict:
    """What beat runs and how often (seconds), all on the ``maintenance`` queue."""
    maintenance = {"queue": "maintenance"}
    return {
        "sweep": {"task": SWEEP, "schedule": settings.sweep_interval},
        "stream-expire-twitter-media": {"task": STREAM_EXPIRE_MEDIA, "schedule": settings.stream_expiry_interval,
                                        "options": maintenance},
        "stream-check-vanished": {"task": STREAM_CHECK_VANISHED, "schedule": settings.stream_exists_interval,
                                  "options": maintenance},
        "stream-poll-comments": {"task": STREAM_POLL_COMMENTS, "schedule": settings.stream_comment_interval,
                                 "options": maintenance},
        "stream-prune-events": {"task": STREAM_PRUNE_EVENTS, "schedule": 3600.0, "options": maintenance},
    }
