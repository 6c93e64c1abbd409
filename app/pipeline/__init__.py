"""The pipeline: what happens to a push after the gateway accepted it.

Its steps (called "stages" in the audit, the metrics and the logs):

* ``download`` (``app.pipeline.download``): stream a ``video_url`` into the staging
  store (``app.staging``), checking format and size on the way;
* ``upload`` (``app.pipeline.upload``): the provider work through the adapter;
* ``callback`` (``app.pipeline.callbacks``): the signed result to ``callback_url``.

Each function takes the process ``Runtime`` and a request id, re-reads the row,
does its work and records the outcome through ``app.states`` (a push ends only by
``states.finish``). ``workers.tasks`` wraps them in Celery tasks and turns ``Retry``
into Celery retries; ``app.pipeline.sweep`` (beat) re-publishes what was lost.
"""
