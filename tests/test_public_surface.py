"""The public surface, pinned (as httpx pins its exported members): every route, every
task name and queue, the beat schedule, the provider registry and the setting names.

Each of these is a contract with someone outside the code: API clients (routes),
messages already queued and workers of the previous release (task names, queues),
operators' environments (settings). A change here must be deliberate: add the new
name, keep the old one working, and update this file in the same commit.
"""

from __future__ import annotations

import importlib
import sys

import pytest

from app.broker import names
from app.config import Settings

ROUTES = {
    ("/connect/<provider>.html", "GET"),
    ("/connect/<provider>/callback", "GET"),
    ("/connections/<token>.json", "GET"),
    ("/dashboard", "GET"),
    ("/dashboard/login", "GET,POST"),
    ("/dashboard/login/<token>", "GET"),
    ("/dashboard/logout", "POST"),
    ("/dashboard/requests/<token>", "GET"),
    ("/dashboard/requests/<token>.json", "GET"),
    ("/dashboard/requests/<token>/live", "GET"),
    ("/dashboard/rows", "GET"),
    ("/dashboard/static/<path:filename>", "GET"),
    ("/docs", "GET"),
    ("/healthz", "GET"),
    ("/identities.json", "GET"),
    ("/identities.json", "POST"),
    ("/identities/<token>.json", "DELETE"),
    ("/identities/<token>.json", "GET"),
    ("/identities/<token>/synchronize.json", "PUT"),
    ("/metrics", "GET"),
    ("/openapi.json", "GET"),
    *((f"/push/identities/<identity_token>/{path}.json", "POST") for path in (
        "facebook/post", "facebook/picture", "facebook/video",
        "facebook/group/post", "facebook/group/picture", "facebook/group/video",
        "facebook/page/post", "facebook/page/picture", "facebook/page/video",
        "linkedin/post", "linkedin/company/post", "pinterest/pin",
        "twitter/post", "twitter/picture", "twitter/video",
        "youtube/video", "youtube/playlist/<playlist_id>/video", "youtube/playlist", "youtube/channel/section")),
    ("/push/requests.json", "GET"),
    ("/push/requests/<token>.json", "DELETE"),
    ("/push/requests/<token>.json", "GET"),
    ("/readyz", "GET"),
    ("/static/<path:filename>", "GET"),
    ("/stream/api/", "GET,POST"),
}

#: task name -> queue. ``pushwire.stage`` is the download step's former name, kept so
#: messages queued before the rename still run.
TASKS = {
    "pushwire.download": "staging",
    "pushwire.stage": "staging",
    "pushwire.transcode": "transcode",
    "pushwire.upload": "upload",
    "pushwire.callback": "callback",
    "pushwire.sweep": "maintenance",
    "pushwire.stream.expire_twitter_media": "maintenance",
    "pushwire.stream.check_vanished": "maintenance",
    "pushwire.stream.poll_comments": "maintenance",
    "pushwire.stream.prune_events": "maintenance",
}
QUEUES = ("staging", "transcode", "upload", "callback", "maintenance")
BEAT = {
    "sweep": "pushwire.sweep",
    "stream-expire-twitter-media": "pushwire.stream.expire_twitter_media",
    "stream-check-vanished": "pushwire.stream.check_vanished",
    "stream-poll-comments": "pushwire.stream.poll_comments",
    "stream-prune-events": "pushwire.stream.prune_events",
}

PROVIDERS = {
    "facebook": "app.providers.facebook:FacebookAdapter",
    "linkedin": "app.providers.linkedin:LinkedInAdapter",
    "pinterest": "app.providers.pinterest:PinterestAdapter",
    "twitter": "app.providers.twitter:TwitterAdapter",
    "youtube": "app.providers.youtube:YouTubeAdapter",
}

SETTINGS = """
DATA_DIR DATABASE_URL DATABASE_POOL_SIZE DATABASE_MAX_OVERFLOW DATABASE_POOL_RECYCLE BROKER_URL
BROKER_KEY_PREFIX REDIS_URL STAGING_URL S3_ENDPOINT_URL S3_REGION S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY
S3_CREATE_BUCKET STAGING_CHUNK_SIZE SECRET_KEY
TWITTER_API_URL TWITTER_CLIENT_ID TWITTER_CLIENT_SECRET
FACEBOOK_API_URL FACEBOOK_GRAPH_VERSION FACEBOOK_APP_ID FACEBOOK_CLIENT_ID
FACEBOOK_CLIENT_SECRET FACEBOOK_POLL_MAX FACEBOOK_PROCESSING_TIMEOUT
LINKEDIN_API_URL LINKEDIN_OAUTH_URL LINKEDIN_VERSION LINKEDIN_COMPANY_POSTING LINKEDIN_CLIENT_ID LINKEDIN_CLIENT_SECRET
PINTEREST_API_URL PINTEREST_CLIENT_ID PINTEREST_CLIENT_SECRET PINTEREST_POLL_INTERVAL PINTEREST_PROCESSING_TIMEOUT
YOUTUBE_API_URL YOUTUBE_TOKEN_URL YOUTUBE_CLIENT_ID YOUTUBE_CLIENT_SECRET YOUTUBE_CHUNK_SIZE YOUTUBE_POLL_INTERVAL YOUTUBE_POLL_MAX
YOUTUBE_PROCESSING_TIMEOUT
CONNECT_BASE_URL CONNECT_STATE_MAX CONNECT_RATE_LIMIT CONNECT_FLOW_TTL CONNECT_TOKEN_TTL TWITTER_AUTHORIZE_URL FACEBOOK_AUTHORIZE_URL
LINKEDIN_AUTHORIZE_URL PINTEREST_AUTHORIZE_URL YOUTUBE_AUTHORIZE_URL
OUTBOUND_ALLOW OUTBOUND_CONNECT_TIMEOUT OUTBOUND_READ_TIMEOUT DOWNLOAD_MIN_BYTES DOWNLOAD_RATE_WINDOW DOWNLOAD_DEADLINE_BASE DOWNLOAD_DEADLINE_SPEED TWITTER_CHUNK_SIZE
MAX_STAGE_RETRIES MAX_REDELIVERIES RETRY_BACKOFF_BASE RETRY_BACKOFF_MAX CALLBACK_TIMEOUT CALLBACK_SCHEDULE
SWEEP_INTERVAL REQUEUE_AFTER HEARTBEAT_INTERVAL ATTEMPT_LEASE STALL_AFTER PARK_AFTER SCHEDULE_HORIZON SYNC_WAIT_SECONDS MAX_BODY_BYTES
SITE_RATE_LIMIT IDENTITY_RATE_LIMIT PROVIDER_RATE_LIMIT LOG_JSON
TRANSCODE_DIR TRANSCODE_PRESET TRANSCODE_THREADS TRANSCODE_CPU_FACTOR
STREAM_KEEPALIVE STREAM_QUEUE_SIZE STREAM_MAX_ATTEMPTS STREAM_ATTEMPT_WINDOW STREAM_BAN_SECONDS
STREAM_TRUST_FORWARDED STREAM_POLL_INTERVAL STREAM_REPLAY_LIMIT STREAM_RETENTION_DAYS STREAM_WATCH_DAYS
STREAM_COMMENT_INTERVAL STREAM_EXISTS_INTERVAL STREAM_EXPIRY_INTERVAL STREAM_TWITTER_MEDIA_TTL STREAM_SEND_TIMEOUT STREAM_MAX_PER_KEY STREAM_MAX_PER_IP STREAM_ENABLED
FLOWER_BASIC_AUTH FLOWER_ADDRESS AUTH_CACHE_SECONDS INTAKE_BATCH TASK_EVENTS LOG_LEVEL TRUSTED_PROXIES READINESS_TIMEOUT
SHUTDOWN_GRACE
"""


@pytest.fixture()
def worker(monkeypatch, tmp_path):
    """``workers.worker`` as ``celery -A workers.worker`` loads it, on an in-memory broker."""
    monkeypatch.setenv("PUSHWIRE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PUSHWIRE_BROKER_URL", "memory://")
    sys.modules.pop("workers.worker", None)
    module = importlib.import_module("workers.worker")
    yield module
    sys.modules.pop("workers.worker", None)


def test_routes(tmp_path):
    from app import create_app

    app = create_app(Settings(data_dir=tmp_path))
    found = {(rule.rule, ",".join(sorted(rule.methods - {"HEAD", "OPTIONS"}))) for rule in app.url_map.iter_rules()}
    assert found == ROUTES


def test_task_names_and_their_queues(worker):
    registered = {name for name in worker.celery.tasks if name.startswith("pushwire.")}
    assert registered == set(TASKS)
    beat_queues = {entry["task"]: entry["options"]["queue"]
                   for entry in worker.celery.conf.beat_schedule.values() if "options" in entry}
    queues = {name: names.ROUTES[name]["queue"] if name in names.ROUTES else beat_queues[name] for name in TASKS}
    assert queues == TASKS
    assert set(names.STREAM_TASKS) == {name for name in TASKS if name.startswith("pushwire.stream.")}


def test_both_names_of_the_download_step_run_it(worker, monkeypatch):
    from workers import tasks as shells

    ran = []
    monkeypatch.setattr(shells, "run_download", lambda rt, request_id, task_id: ran.append(request_id) or "staged")
    for n, name in enumerate(("pushwire.download", "pushwire.stage")):
        assert worker.celery.tasks[name].run(n) == "staged"
    assert ran == [0, 1]


def test_queues_and_beat(worker):
    assert names.QUEUES == QUEUES
    assert tuple(q.name for q in worker.celery.conf.task_queues) == QUEUES
    assert {key: entry["task"] for key, entry in worker.celery.conf.beat_schedule.items()} == BEAT


def test_a_push_publishes_its_chain_under_the_current_names(worker):
    """A video push with a callback: ``pushwire.download`` on ``staging``, carrying
    transcode, upload and callback (ids only)."""
    rt = worker.celery.pushwire_runtime
    from app.broker.publish import publish_chain

    with worker.celery.connection_for_write() as conn:
        queue = conn.SimpleQueue("staging")
        queue.clear()  # kombu's memory:// queues are per process: earlier tests may have left messages
        publish_chain(rt.celery, 42, staged=True, callback=True)
        message = queue.get(timeout=5)
        message.ack()
        queue.close()
    assert message.headers["task"] == "pushwire.download"
    assert message.headers["argsrepr"] == "(42,)"
    chain = message.payload[2]["chain"]
    assert [(s["task"], s["options"]["queue"], list(s["args"])) for s in reversed(chain)] == [
        ("pushwire.transcode", "transcode", [42]), ("pushwire.upload", "upload", [42]),
        ("pushwire.callback", "callback", [42])]


def test_provider_registry():
    from app.providers import REGISTRY, adapter_class

    assert REGISTRY == PROVIDERS
    assert {name: adapter_class(name).name for name in REGISTRY} == {name: name for name in PROVIDERS}


def test_setting_names():
    found = {f"PUSHWIRE_{name.upper()}" for name in Settings.model_fields}
    pinned = {f"PUSHWIRE_{name}" for name in SETTINGS.split()}
    assert (sorted(found - pinned), sorted(pinned - found)) == ([], []), "(added, removed)"
