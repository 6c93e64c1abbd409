"""The ``Runtime`` a task runs with: the one that built its Celery app."""

from __future__ import annotations

from app.runtime import Runtime


def runtime(celery_app) -> Runtime:
    """The process's Runtime (``app.broker.factory.make_celery`` keeps it on the app)."""
    return celery_app.pushwire_runtime
