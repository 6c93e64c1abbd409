"""The Celery application factory: ``make_celery(rt)``, built by the ``Runtime``.

The gateway publishes through ``rt.celery``; ``workers.worker`` builds its
``Runtime`` from the environment and serves ``rt.celery``: one factory, one
configuration, and the tasks find their ``Runtime`` on the app
(``celery_app.pushwire_runtime``).

Settings chosen for long, non-idempotent uploads (see README "Reliability"):

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged
  only after its task finished, so a SIGKILLed worker's task is redelivered
  instead of lost; every stage resumes from recorded progress, so that is safe.
* ``worker_prefetch_multiplier=1``: a worker holds one message per slot, so a
  2 GB upload never sits on messages another worker could run.
* ``visibility_timeout`` (Redis/SQS) above the longest task plus the longest
  retry countdown, so Redis does not redeliver a task still running: countdowns
  are held to the difference (``app.broker.countdowns``); longer waits are parked
  in the database.
* hard/soft time limits well above the longest legitimate upload.
* results are not stored: state lives in the database.
* task events only when ``PUSHWIRE_TASK_EVENTS`` is on or a monitor (Flower)
  enables them at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kombu import Exchange, Queue

from app.broker import redis_transport
from app.broker.names import QUEUES, ROUTES, beat_schedule
from app.config import Settings
from app.broker.countdowns import LONGEST_COUNTDOWN, TASK_TIME_LIMIT, VISIBILITY_TIMEOUT, GuardedCelery

if TYPE_CHECKING:
    from app.runtime import Runtime

redis_transport.install()

SIX_HOURS = TASK_TIME_LIMIT


def _transport_options(settings: Settings) -> dict:
    options: dict = {"visibility_timeout": VISIBILITY_TIMEOUT}
    if settings.broker_key_prefix and settings.resolved_broker_url().startswith(("redis://", "rediss://")):
        options["global_keyprefix"] = settings.broker_key_prefix
    return options


def make_celery(rt: Runtime) -> GuardedCelery:
    """The Celery app of ``rt`` (kept as ``app.pushwire_runtime``; its settings as
    ``app.pushwire_settings``)."""
    settings = rt.settings
    if not 0 < max(settings.park_after, settings.sweep_interval) <= LONGEST_COUNTDOWN:
        raise ValueError(f"PUSHWIRE_PARK_AFTER and PUSHWIRE_SWEEP_INTERVAL must be between 0 and {LONGEST_COUNTDOWN} "
                         "seconds (the visibility timeout minus the task time limit): waits up to the larger of "
                         "them ride on the broker as countdowns, longer ones are parked in the database")
    app = GuardedCelery("pushwire", broker=settings.resolved_broker_url())
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
        task_default_queue="maintenance",
        task_routes=ROUTES,
        task_time_limit=SIX_HOURS,
        task_soft_time_limit=SIX_HOURS - 300,
        task_track_started=True,
        # Events cost a broker publish each (three per task): sent only when asked
        # for. Flower enables them in running workers while it watches.
        worker_send_task_events=settings.task_events,
        task_send_sent_event=settings.task_events,
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(settings),
        beat_schedule=beat_schedule(settings),
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    if settings.resolved_broker_url().startswith("sqla+"):
        # kombu's SQLAlchemy transport hands transport options to create_engine;
        # the Redis visibility timeout means nothing there.
        app.conf.broker_transport_options = {}
    app.pushwire_runtime = rt
    app.pushwire_settings = settings
    return app
