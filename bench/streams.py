"""``python -m bench.streams --streams N --rate R --seconds S``: Stream API fan-out.

Starts one gunicorn gateway (gthread, ``--threads`` >= N + 16: a stream holds a
thread) on a throwaway PostgreSQL database and Redis, opens N concurrent streams
(one site each: a key holds one connection), commits R events per second per
site the way a worker does (insert, then publish after commit), spread over
``--commits`` transactions per second (``--commits 0``: one burst transaction per
tick for all sites), and prints deliveries per second, commit-to-client
latency p50/p99 and the gateway's RSS (master + worker).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

from app.crypto import hash_stream_key
from app.config import Settings
from app.events import bind_runtime, emit_event
from app.migrate import upgrade
from app.models import Site
from app.runtime import Runtime
from tests.support.services import REDIS_URL, create_database
from tests.support.stack import BIN, ROOT, free_port

BENCH_STREAM_REDIS_DB = int(os.environ.get("PUSHWIRE_BENCH_STREAM_REDIS_DB", "9"))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url, drop = create_database()
    tmp = tempfile.mkdtemp(prefix="bench-streams-")
    settings = Settings(data_dir=tmp, database_url=url, secret_key="bench-secret-key",
                        redis_url=f"{REDIS_URL}/{BENCH_STREAM_REDIS_DB}")
    upgrade(settings)
    rt = Runtime(settings)
    gateway = None
    try:
        sites = [_site(rt) for _ in range(args.streams)]
        gateway, port = _gateway(settings, args.threads or args.streams + 16, tmp)
        print(json.dumps(run(rt, f"http://127.0.0.1:{port}", gateway, sites, args), indent=2))
    finally:
        if gateway is not None:
            gateway.terminate()
            try:
                gateway.wait(timeout=40)
            except subprocess.TimeoutExpired:
                gateway.kill()
        rt.db.engine.dispose()
        drop()
    return 0


def run(rt, base: str, gateway, sites: list[tuple[int, str]], args) -> dict:
    """Open the streams, produce for ``args.seconds``, drain, and measure (then,
    with ``--burst``, the same again with one burst commit per tick)."""
    reader = StreamReader(base, [key for _, key in sites])
    reader.open(timeout=120)
    idle_rss = _rss(gateway.pid)
    site_ids = [site_id for site_id, _ in sites]
    phases = [args.commits] + ([0] if args.burst and args.commits else [])
    out, expected = {}, 0
    for commits in phases:
        committed = _produce(rt, site_ids, args.rate, args.seconds, commits)
        expected += len(committed)
        reader.drain(expected, timeout=30.0)  # the streams stay open until the gateway stops
        summary = _summary(committed, reader.received, args.seconds)
        summary["commits_per_s"] = commits
        if not out:
            out = {"streams": args.streams, "rate": args.rate, "seconds": args.seconds, **summary}
        else:
            out["burst"] = summary
    reader.stop()
    out.update(gateway_rss_mb_idle_streams=idle_rss, gateway_rss_mb_after=_rss(gateway.pid))
    return out


def _summary(committed: dict[int, float], received: dict[int, list[float]], seconds: float) -> dict:
    latencies = sorted(got - at for eid, at in committed.items() for got in received.get(eid, ()))
    return {
        "events_committed": len(committed), "deliveries": len(latencies), "deliveries_expected": len(committed),
        "deliveries_per_s": round(len(latencies) / seconds, 1),
        "latency_ms_p50": round(1000 * statistics.median(latencies), 2) if latencies else None,
        "latency_ms_p99": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
    }


_EVENT_ID = re.compile(rb'\{"id":(\d+)[,}]')  # app.stream.render writes the id first


class StreamReader:
    """Every stream read by one thread with a selector (the measuring client must
    not compete with the gateway for the 2 cores with a thousand threads of its own).

    HTTP/1.0 requests, so the body arrives as written (no chunked framing): lines
    of JSON separated by CRLF, keep-alives as empty lines. Each line is stamped
    when it is read; the event id is taken from it without a full JSON parse.
    """

    def __init__(self, base: str, keys: list[str]):
        host, port = base.removeprefix("http://").split(":")
        self.addr, self.keys = (host, int(port)), keys
        self.selector = selectors.DefaultSelector()
        self.received: dict[int, list[float]] = {}
        self.count = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self, timeout: float) -> None:
        """Connect every stream and wait until each has sent its first keep-alive (subscribed)."""
        pending = {}
        for n, key in enumerate(self.keys):
            sock = socket.create_connection(self.addr, timeout=10)
            # Each stream is its own IP so the per-IP connection limit does not apply.
            sock.sendall((f"GET /stream/api/?token={key} HTTP/1.0\r\nHost: bench\r\n"
                          f"X-Forwarded-For: 10.{n // 65536}.{n // 256 % 256}.{n % 256}\r\n\r\n").encode())
            sock.setblocking(False)
            state = {"buf": b"", "head": True, "ready": False}
            self.selector.register(sock, selectors.EVENT_READ, state)
            pending[sock] = state
        deadline = time.monotonic() + timeout
        while any(not st["ready"] for st in pending.values()):
            if time.monotonic() > deadline:
                closed = sum(1 for st in pending.values() if st.get("closed"))
                waiting = sum(1 for st in pending.values() if not st["ready"])
                sample = next((st["buf"][:300] for st in pending.values() if not st["ready"]), b"")
                raise TimeoutError(f"{waiting} of {len(pending)} streams did not subscribe ({closed} closed; {sample!r})")
            self._poll(0.5)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._poll(0.2)

    def _poll(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            sock, state = key.fileobj, key.data
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                self.selector.unregister(sock)
                sock.close()
                state["closed"] = True
                continue
            now = time.time()
            buf = state["buf"] + data
            if state["head"]:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    state["buf"] = buf
                    continue
                state["status"] = buf[:end].split(b"\r\n", 1)[0]
                buf, state["head"] = buf[end + 4:], False
            *lines, state["buf"] = buf.split(b"\r\n")
            for line in lines:
                if not line:
                    state["ready"] = True  # a keep-alive
                    continue
                match = _EVENT_ID.match(line)
                if match:  # an error element or a damaged line is not counted
                    self.received.setdefault(int(match.group(1)), []).append(now)
                    self.count += 1

    def drain(self, expected: int, timeout: float) -> None:
        """Wait until every committed event reached its stream (or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.count < expected:
            time.sleep(0.2)

    def stop(self) -> dict[int, list[float]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        return self.received


def _produce(rt, site_ids: list[int], rate: float, seconds: float, commits: float = 0) -> dict[int, float]:
    """Commit ``rate`` events per second per site for ``seconds``; returns event id ->
    time just before its commit.

    ``commits`` per second (as workers do: each upload's events are committed by
    its own task) spread the total evenly, each commit writing the next sites'
    events in turn; 0 bursts instead: one commit per tick with an event for every
    site (``rate`` ticks per second).
    """
    total = rate * len(site_ids)
    per_s = min(commits, total) if commits else rate
    per_commit = len(site_ids) if not commits else max(1, round(total / per_s))
    committed, start, n, turn = {}, time.monotonic(), 0, 0
    while time.monotonic() - start < seconds:
        due = start + n / per_s
        time.sleep(max(0.0, due - time.monotonic()))
        batch = [site_ids[(turn + i) % len(site_ids)] for i in range(per_commit)]
        turn += per_commit
        with rt.db.session() as session:
            bind_runtime(session, rt)
            ids = [emit_event(session, site_id, "upload", {"video": {"guid": str(n), "text": "bench"}}).id
                   for site_id in batch]
            now = time.time()
        committed.update((event_id, now) for event_id in ids)
        n += 1
    return committed


def _site(rt) -> tuple[int, str]:
    with rt.db.session() as session:
        key = f"bench-{time.time_ns()}"
        site = Site(name="bench", private_key_hash="x", stream_key=hash_stream_key(key), signing_secret_enc="x")
        session.add(site)
        session.flush()
        return site.id, key


def _gateway(settings: Settings, threads: int, tmp: str):
    port = free_port()
    env = {**os.environ, "PUSHWIRE_DATA_DIR": tmp, "PUSHWIRE_DATABASE_URL": settings.database_url,
           "PUSHWIRE_REDIS_URL": settings.redis_url, "PUSHWIRE_SECRET_KEY": settings.secret_key,
           "PUSHWIRE_STREAM_TRUST_FORWARDED": "true", "PUSHWIRE_STREAM_KEEPALIVE": "5"}
    log = open(os.path.join(tmp, "web.log"), "ab")
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", "1", "-k", "gthread",
                             "--threads", str(threads), "--worker-connections", str(threads * 2), "--graceful-timeout", "2",
                             "app:create_app()"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/stream/api/", timeout=2, headers={"X-Forwarded-For": "10.255.0.1"})
            return proc, port
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gateway did not start")


def _rss(pid: int) -> float:
    """RSS in MB of ``pid`` and its children (gunicorn master + worker)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            pids += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return round(total / 1024, 1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="events per second per stream (site)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--commits", type=float, default=50.0,
                        help="commits per second spreading the events (0: burst, one commit for all sites per tick)")
    parser.add_argument("--burst", action="store_true", help="then measure again with one burst commit per tick")
    parser.add_argument("--threads", type=int, default=0, help="gunicorn threads (default: streams + 16)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
