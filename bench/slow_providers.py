"""Targets 3 and 7: text posts when every provider call takes 500 ms, and fleet scaling.

Every call to the fake X sleeps 500 ms (the fakes' ``slow`` fault on every
endpoint). 1,000 posts (quick: 200) are queued, then the upload+callback
workers run them with thread pools sized for I/O: one process per core
(``NODE``: 2 processes x ``-P threads -c 100``), and one process alone;
the database pool stays small (sessions are short; PostgreSQL's 100 clients
are shared by every process). Then the same with 1, 2 and 4
worker processes of ``-c 10`` each (target 7: near-linear scaling for I/O-bound
work). Ten slots per process keep each process I/O-bound (at most 10 / 0.5 s =
20 posts/s, far below what one process's CPU allows), so the figures show
what adding processes adds, not where a 2-core machine's CPU runs out (that
is what the one-node rows above measure).
"""

from __future__ import annotations

from bench.env import BenchEnv
from bench.posts import measure_posts, prepare
from bench.result import Result, margin

DELAY = 0.5
TARGET = 100.0


def run(quick: bool = False) -> list[Result]:
    n = 200 if quick else 1000
    results = []
    with BenchEnv(providers=("twitter",)) as env:
        env.fakes["twitter"].state.faults.add("*", "slow", count=10**8, delay=DELAY)
        stack = env.stack()
        stack.start_gateway()
        client, identities = prepare(env, stack)
        for procs, pool, conc, dbpool in _configs(quick):
            got = measure_posts(env, stack, client, identities, n, procs, pool, conc, timeout=n / 2 + 120,
                                worker_env={"PUSHWIRE_DATABASE_POOL_SIZE": str(dbpool)}, ready_first=procs > 1)
            met = got["rate"] >= TARGET and not got["failed"]
            results.append(Result("slow_providers",
                                  f"{n} posts, 1 node, {procs} process(es) x -P {pool} -c {conc}, db pool {dbpool}",
                                  got["rate"], "posts/s", target=f">= {TARGET:g} posts/s",
                                  met=met if (procs, pool, conc, dbpool) == NODE else None,
                                  margin=margin(got["rate"], TARGET, True), note=_note(got)))
        results.extend(_fleet(env, stack, client, identities, n, quick))
    return results


#: The node's configuration the target is judged on: one upload worker process per
#: core (2 here), each a thread pool; the one-process rows show what one core does.
NODE = (2, "threads", 100, 10)


def _configs(quick: bool):
    """(processes, pool, concurrency, database pool size) of the one-node runs."""
    if quick:
        return [NODE]
    # PostgreSQL allows 100 clients here (shared with other runs): a pool of P
    # opens up to 2P (overflow), so the pool stays small; sessions are short.
    return [NODE, (1, "threads", 200, 10), (1, "threads", 100, 10)]


FLEET_CONCURRENCY = 10


def _fleet(env, stack, client, identities, n: int, quick: bool) -> list[Result]:
    rates, out = {}, []
    n = n // 2  # 20 posts/s per process at most: keep the one-process run short
    for workers in ((1, 2) if quick else (1, 2, 4)):
        got = measure_posts(env, stack, client, identities, n, workers, "threads", FLEET_CONCURRENCY,
                            timeout=n / 2 + 120, worker_env={"PUSHWIRE_DATABASE_POOL_SIZE": "5"},
                            ready_first=True)
        rates[workers] = got["rate"]
        ideal = rates[1] * workers
        out.append(Result("fleet", f"{n} slow posts, {workers} worker process(es) x -P threads -c {FLEET_CONCURRENCY}",
                          got["rate"],
                          "posts/s", baseline=rates[1], ratio=got["rate"] / rates[1], target=f"~{workers}x (linear)",
                          met=(got["rate"] >= 0.8 * ideal and not got["failed"]) if workers > 1 else None,
                          margin=f"{got['rate'] / ideal * 100:.0f}% of linear" if workers > 1 else "",
                          note=_note(got)))
    return out


def _note(got: dict) -> str:
    text = f"{got['n']} posts in {got['seconds']:.1f} s"
    if got["failed"]:
        text += f"; {got['failed']} FAILED ({got['reason']})"
    return text
