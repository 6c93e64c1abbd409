"""``python -m bench [--quick] [--only NAME[,NAME]] [--no-write]``: run the benchmarks,
print the table and write ``bench/RESULTS.md``.

Each benchmark module has ``run(quick: bool) -> list[Result]`` and starts and
stops its own processes; a benchmark that crashes is reported as a failed row
and the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from bench import report
from bench.result import Result

BENCHES = ("memory", "pipeline", "slow_providers", "overhead", "gateway", "streams", "scheduled", "banlimit",
           "transcode")
MODULES = {"streams": "bench.streams_target"}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHES)
    unknown = set(names) - set(BENCHES)
    if unknown:
        print(f"unknown benchmark(s) {sorted(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    started, results = time.time(), []
    for name in names:
        results.extend(_run_one(name, args.quick))
        print(report.table(results[-20:]) if args.verbose else f"[bench] {name} done", flush=True)
    print(report.table(results))
    if not args.no_write and not args.only:  # a subset must not replace the full table
        print(f"written to {report.write(results, args.quick, time.time() - started)}")
    return 1 if any(r.metric == "crashed" for r in results) else 0


def _run_one(name: str, quick: bool) -> list[Result]:
    print(f"[bench] {name} ({'quick' if quick else 'full'}) ...", flush=True)
    t0 = time.time()
    try:
        results = importlib.import_module(MODULES.get(name, f"bench.{name}")).run(quick=quick)
    except Exception as exc:
        traceback.print_exc()
        return [Result(name, "crashed", None, note=f"{type(exc).__name__}: {exc}"[:500])]
    print(f"[bench] {name} took {time.time() - t0:.0f} s", flush=True)
    return results


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes: checks that every benchmark runs")
    p.add_argument("--only", help=f"comma-separated subset of {', '.join(BENCHES)}")
    p.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md (a --only run never does)")
    p.add_argument("--verbose", action="store_true", help="print the table after every benchmark")
    return p


if __name__ == "__main__":
    sys.exit(main())
