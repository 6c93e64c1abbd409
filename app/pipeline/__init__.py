"""The domain side of the three stages: staging, provider upload, callback.

Each function takes the process ``Runtime`` and a request id, re-reads the row,
does its work and records the outcome. ``workers.tasks`` wraps them in Celery
tasks and turns ``Retry`` into Celery retries.
"""
