"""``python -m bench --quick`` runs and prints figures (a smoke test, not a performance gate).

Only the cheapest benchmarks run here (memory and pipeline sizes are cut
further through ``--only``), so this stays well under a minute; the full
quick run is ``make bench BENCH_ARGS=--quick``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.report import markdown, table
from bench.result import Result
from tests.support.stack import ROOT

pytestmark = pytest.mark.timeout(120)


def test_quick_overhead_and_streams_print_a_table_of_figures(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "overhead,streams", "--no-write"],
                         cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("bench "))
    overhead = [line for line in lines[header:] if line.startswith("overhead")]
    assert overhead and "posts/s" in overhead[0] and "x" in overhead[0], out.stdout
    assert any(line.startswith("streams") for line in lines[header:]), out.stdout


def test_results_markdown_has_machine_date_figures_and_verdicts():
    results = [Result("gateway", "accept rate", 250.0, "req/s", baseline=500.0, ratio=0.5, target=">= 1x",
                      met=False, margin="50% of target", note="why"),
               Result("streams", "streams", None, note="not run")]
    text = markdown(results, quick=True, elapsed=3)
    for needed in ("CPUs (nproc)", "PostgreSQL", "Redis", "Python", "UTC", "MISSED (50% of target)", "not run",
                   "0.5 x"):
        assert needed in text, needed
    assert "gateway" in table(results)


def test_unknown_benchmark_is_refused():
    out = subprocess.run([sys.executable, "-m", "bench", "--only", "nope", "--no-write"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "unknown benchmark" in out.stderr
