"""Target 4: Pushwire's per-post overhead against a bare Celery three-task chain.

2,000 Twitter text posts (quick: 100) against a zero-latency fake, then 2,000
bare three-task chains (``bench.bare``), on the same Redis broker, with the
same worker options (one process, ``-P threads -c 32``), each queued before
its worker starts and timed from the first task's start to the last finish.
The worker's CPU time per post says where the difference goes.
"""

from __future__ import annotations

import time

from bench import bare
from bench.env import BenchEnv
from bench.posts import measure_posts, prepare
from bench.result import Result, margin
from bench.rss import cpu_seconds

TARGET = 0.5
POOL, CONCURRENCY = "threads", 32


def run(quick: bool = False) -> list[Result]:
    n = 100 if quick else 2000
    with BenchEnv(providers=("twitter",)) as env:
        stack = env.stack()
        stack.start_gateway()
        client, identities = prepare(env, stack)
        got = measure_posts(env, stack, client, identities, n, 1, POOL, CONCURRENCY, timeout=n + 120,
                            worker_env={"PUSHWIRE_DATABASE_POOL_SIZE": "10"})
        base = _bare(env, stack, n)
    ratio = got["rate"] / base["rate"]
    return [Result("overhead", f"{n} text posts, zero-latency fake, -P {POOL} -c {CONCURRENCY}", got["rate"],
                   "posts/s", baseline=base["rate"], ratio=ratio, target=f">= {TARGET:g}x bare chain",
                   met=ratio >= TARGET and not got["failed"], margin=margin(ratio, TARGET, True),
                   note=(f"pushwire {got['seconds']:.1f} s, worker CPU {got['cpu_ms']:.1f} ms/post, "
                         f"{got['xacts']:.0f} PostgreSQL transactions/post"
                         f"{'; %d FAILED' % got['failed'] if got['failed'] else ''}; bare chain {base['seconds']:.1f} s, "
                         f"worker CPU {base['cpu_ms']:.1f} ms/chain (CPU includes worker start-up)"))]


def _bare(env: BenchEnv, stack, n: int) -> dict:
    app = bare.make_app(env.redis_url, env.prefix)
    bare.publish(app, n)
    stack.start_pool_worker("bare", POOL, CONCURRENCY, queues=bare.QUEUE, app="bench.bare",
                            env={"BENCH_BARE_BROKER": env.redis_url, "BENCH_BARE_PREFIX": env.prefix})
    deadline = time.time() + n + 120
    try:
        while time.time() < deadline:
            done, first, last = bare.progress(app)
            if done >= n:
                break
            time.sleep(0.05)
        else:
            raise TimeoutError(f"bare chains: only {done}/{n} done")
        cpu = cpu_seconds(stack.procs["bare"].pid)
    finally:
        stack.kill("bare", 15)
    return {"rate": n / (last - first), "seconds": last - first, "cpu_ms": cpu * 1000 / n}
