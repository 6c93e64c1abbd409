"""Target 5: accept rate and latency of ``twitter/video.json`` under 32 concurrent clients.

The gateway (gunicorn, 2 workers x 32 threads, as the Procfile) only accepts
and queues (no worker runs); the baseline is ``bench.naive_app`` (one INSERT
and one Celery publish) under the same gunicorn options, same database and
broker, same run. 32 clients post for a fixed time; accept rate and latency
percentiles of 2xx answers are compared. The clients are ``wrk`` connections
(Debian's ``wrk``: a C load generator, so the measuring side takes little of the
2 cores and adds no interpreter queueing of its own to the latencies), or, when
``wrk`` is not installed, 32 Python threads with a ``requests.Session`` each.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import requests

from bench.env import BenchEnv
from bench.posts import prepare
from bench.result import Result, margin
from bench.rss import cpu_seconds

CLIENTS = 32
P99_MS = 100.0


def run(quick: bool = False) -> list[Result]:
    seconds = 5 if quick else 20
    with BenchEnv(providers=("twitter",)) as env:
        stack = env.stack()
        stack.start_gateway()
        client, identities = prepare(env, stack, identities=1)
        body = {"request": {"push": {"video": {"video_url": env.origin.url_for(1024 * 1024)}}}}
        ours = _measured(stack, lambda: _load(stack.url + f"/push/identities/{identities[0]}/twitter/video.json",
                                              body, client.http.auth, seconds))
        stack.kill("web", 15)
        env.sql_exec("create table if not exists bench_naive (id bigserial primary key, body jsonb not null, "
                     "created_at timestamptz default now())")
        naive = env.stack(BENCH_NAIVE_DB=env.db_url, BENCH_NAIVE_BROKER=env.redis_url, BENCH_NAIVE_PREFIX=env.prefix)
        naive.start_gateway(app="bench.naive_app:create_app()", health="/health")
        base = _measured(naive, lambda: _load(naive.url + "/naive", body, None, seconds))
    ratio = ours["rate"] / base["rate"]
    return [
        Result("gateway", f"twitter/video.json accept rate, {CLIENTS} clients", ours["rate"], "req/s",
               baseline=base["rate"], ratio=ratio, target=">= 1x naive endpoint", met=ratio >= 1 and not ours["errors"],
               margin=margin(ratio, 1.0, True), note=_note(ours, base)),
        Result("gateway", "twitter/video.json p99 latency", ours["p99"], "ms", baseline=base["p99"],
               target=f"< {P99_MS:g} ms", met=ours["p99"] < P99_MS, margin=margin(ours["p99"], P99_MS, False)),
    ]


def _load(url: str, body: dict, auth, seconds: float) -> dict:
    """``CLIENTS`` clients POST ``body`` to ``url`` for ``seconds`` after a 1 s warm-up."""
    if shutil.which("wrk"):
        return _wrk(url, body, auth, seconds)
    return _python_load(url, body, auth, seconds)


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
%(auth)s
done = function(summary, latency, requests)
  io.write(string.format('{"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"status_errors":%%d,' ..
    '"socket_errors":%%d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def _wrk(url: str, body: dict, auth, seconds: float) -> dict:
    """wrk with 2 threads and ``CLIENTS`` keep-alive connections; its Lua ``done`` hook prints JSON."""
    header = ""
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        header = f'wrk.headers["Authorization"] = "Basic {token}"'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_WRK_SCRIPT % {"body": json.dumps(json.dumps(body)), "auth": header})
        script = fh.name
    try:
        runs = []
        for duration in (1, seconds):  # warm-up, then the measured run
            out = subprocess.run(["wrk", "-t", "2", "-c", str(CLIENTS), "-d", f"{duration}s", "--timeout", "30s",
                                  "-s", script, url], capture_output=True, text=True, timeout=duration + 60)
            line = next((ln for ln in out.stdout.splitlines() if ln.startswith('{"requests"')), None)
            if line is None:
                raise RuntimeError(f"wrk printed no summary: {out.stdout[-800:]} {out.stderr[-800:]}")
            runs.append(json.loads(line))
    finally:
        os.unlink(script)
    warm, got = runs
    errors = got["status_errors"] + got["socket_errors"]
    n = got["requests"] - errors
    return {"rate": n / (got["duration_us"] / 1e6), "p50": got["p50_us"] / 1000, "p99": got["p99_us"] / 1000,
            "errors": errors, "error_sample": [f"{got['status_errors']} non-2xx, {got['socket_errors']} socket"]
            if errors else [], "n": n, "warmup": warm["requests"], "client": "wrk"}


def _python_load(url: str, body: dict, auth, seconds: float) -> dict:
    """``CLIENTS`` threads POST ``body`` to ``url`` for ``seconds`` (after a 1 s warm-up)."""
    latencies: list[float] = []
    errors: list[str] = []
    warmup = [0]
    lock = threading.Lock()
    start, stop = time.perf_counter() + 1.0, time.perf_counter() + 1.0 + seconds

    def client() -> None:
        http = requests.Session()
        http.auth = auth
        while (now := time.perf_counter()) < stop:
            try:
                resp = http.post(url, json=body, timeout=30)
                ok = resp.status_code in (200, 202)
            except requests.RequestException as exc:
                ok, resp = False, exc
            took = time.perf_counter() - now
            with lock:
                if now < start:
                    warmup[0] += 1
                else:
                    (latencies.append(took) if ok else errors.append(str(getattr(resp, "status_code", resp))))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else None  # noqa: E731
    return {"rate": len(latencies) / seconds, "p50": pct(0.5), "p99": pct(0.99), "errors": len(errors),
            "error_sample": errors[:3], "n": len(latencies), "warmup": warmup[0], "client": "python threads"}


def _measured(stack, load) -> dict:
    """``load()`` plus the gateway processes' CPU time per answered request."""
    before = cpu_seconds(stack.procs["web"].pid)
    got = load()
    used = cpu_seconds(stack.procs["web"].pid) - before
    got["cpu_ms"] = used * 1000 / max(1, got["n"] + got["errors"] + got["warmup"])
    return got


def _note(ours: dict, base: dict) -> str:
    text = (f"client {ours['client']}; pushwire: {ours['n']} accepted, p50 {ours['p50']:.0f} ms, p99 {ours['p99']:.0f} ms, gateway CPU "
            f"{ours['cpu_ms']:.2f} ms/request; naive: {base['n']} accepted, p50 {base['p50']:.0f} ms, p99 "
            f"{base['p99']:.0f} ms, {base['cpu_ms']:.2f} ms/request")
    if ours["errors"] or base["errors"]:
        text += f"; errors: pushwire {ours['errors']} {ours['error_sample']}, naive {base['errors']}"
    return text
