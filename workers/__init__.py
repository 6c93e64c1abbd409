"""The worker shell: Celery task wrappers around the domain in ``app/``.

``workers`` imports ``app``, never the reverse; task names, queues, publishing and
the Celery app's configuration live in ``app.broker``.
"""
