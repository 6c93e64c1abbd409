"""Entry module for ``celery -A workers.worker``: the Runtime built from the
environment, serving its Celery app (the same factory as the gateway's)."""

from app.config import Settings
from app.runtime import Runtime
from workers import signals, stream_tasks, tasks  # noqa: F401 - registers the tasks

celery = Runtime(Settings()).celery
signals.connect(celery)
