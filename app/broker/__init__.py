"""The broker side of the domain: task names, queues, and publishing a push's tasks.

The gateway and the workers share this contract; ``workers/`` only registers the
task functions under these names and runs them.

* ``app.broker.names``: every task name, its queue, the beat schedule (a wire
  contract, pinned by ``tests/test_public_surface.py``);
* ``app.broker.publish``: how a committed push becomes its chain of messages
  (``Runtime.enqueue`` and ``Runtime.enqueue_callback`` call it);
* ``app.broker.factory``: ``make_celery(rt)``, the Celery app of a ``Runtime``
  (``rt.celery``), the same in the gateway and in the workers;
* ``app.broker.redis_transport``: kombu's Redis transport, one client per channel.
"""
