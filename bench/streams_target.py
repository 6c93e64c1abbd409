"""Target 6 (streams): runs the stream colleague's ``python -m bench.streams`` CLI.

``bench/streams.py`` opens N streams (one site each) on its own gateway and
commits ``--rate`` events per second per site; it prints a JSON summary. 200
events/s in total over 1,000 streams is ``--streams 1000 --rate 0.2`` (quick:
100 streams at 2 events/s each), spread over 50 commits per second (the verdict),
then again as bursts: one commit with an event for every stream per tick. Without the module the row says "not run".
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

from bench.result import Result, margin
from tests.support.stack import ROOT

P99_MS, RSS_MB = 250.0, 512.0
COMMITS = 50.0  # commits per second carrying the events (workers commit each upload's events on their own)


def run(quick: bool = False) -> list[Result]:
    if importlib.util.find_spec("bench.streams") is None:
        return [Result("streams", "1,000 streams at 200 events/s", None,
                       target=f"p99 < {P99_MS:g} ms, node < {RSS_MB:g} MB", note="not run: bench/streams.py is missing")]
    streams, rate, seconds = (100, 2.0, 2) if quick else (1000, 0.2, 20)
    out = subprocess.run([sys.executable, "-m", "bench.streams", "--streams", str(streams), "--rate", str(rate),
                          "--seconds", str(seconds), "--commits", str(COMMITS), "--burst"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(f"bench.streams failed: {out.stderr[-1500:]}")
    data = json.loads(out.stdout[out.stdout.index("{"):])
    label = f"{streams:,} streams, {streams * rate:g} events/s"
    p99, rss = data.get("latency_ms_p99"), data.get("gateway_rss_mb_after")
    complete = data.get("deliveries") == data.get("deliveries_expected")
    per_commit = max(1, round(streams * rate / COMMITS))
    note = (f"{data.get('deliveries')}/{data.get('deliveries_expected')} deliveries, p50 {data.get('latency_ms_p50')} ms; "
            f"{COMMITS:g} commits/s of {per_commit} events each (bench/streams.py); "
            f"gateway RSS {data.get('gateway_rss_mb_idle_streams')} MB with idle streams")
    burst = data.get("burst") or {}
    b99 = burst.get("latency_ms_p99")
    burst_note = (f"{burst.get('deliveries')}/{burst.get('deliveries_expected')} deliveries, p50 "
                  f"{burst.get('latency_ms_p50')} ms; every stream's event in one commit, {rate:g} commits/s "
                  "(the worst case for one gateway process: all streams woken at once)")
    return [
        Result("streams", f"{label}: commit-to-client p99", p99, "ms", target=f"< {P99_MS:g} ms",
               met=p99 is not None and p99 < P99_MS and complete,
               margin=margin(p99, P99_MS, False) if p99 is not None else "", note=note),
        Result("streams", f"{label} in bursts of {streams:,}: p99", b99, "ms", target=f"< {P99_MS:g} ms (informative)",
               margin=margin(b99, P99_MS, False) if b99 is not None else "", note=burst_note),
        Result("streams", f"{label}: gateway RSS", rss, "MB", target=f"< {RSS_MB:g} MB",
               met=rss is not None and rss < RSS_MB, margin=margin(rss, RSS_MB, False) if rss is not None else ""),
    ]
