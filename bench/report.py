"""The table printed after a run and ``bench/RESULTS.md`` (machine, date, figures, verdicts)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

from bench.result import Result, fmt

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEAD = ("bench", "metric", "value", "baseline", "ratio", "target", "verdict")


def rows(results: list[Result]) -> list[tuple[str, ...]]:
    return [(r.bench, r.metric, fmt(r.value, r.unit), fmt(r.baseline, r.unit if r.ratio is None else ""),
             fmt(r.ratio, "x") if r.ratio is not None else "-", r.target or "-", r.verdict()) for r in results]


def table(results: list[Result]) -> str:
    """A fixed-width table for the terminal."""
    body = [HEAD, *rows(results)]
    widths = [max(len(row[i]) for row in body) for i in range(len(HEAD))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in body)


def markdown(results: list[Result], quick: bool, elapsed: float) -> str:
    lines = [
        "# Pushwire benchmark results", "",
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC} with `python -m bench{' --quick' if quick else ''}` "
        f"({'quick sizes' if quick else 'full sizes'}; {elapsed:.0f} s). Every ratio compares figures measured "
        "in the same run; absolute times are not comparable between runs on this noisy shared machine.", "",
        "## Machine", "", *[f"* {k}: {v}" for k, v in machine().items()], "",
        "## Figures", "",
        "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD),
        *["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows(results)], "",
        "## Notes", "",
        *[f"* **{r.bench} / {r.metric}**: {r.note}" for r in results if r.note], "",
    ]
    return "\n".join(lines)


def write(results: list[Result], quick: bool, elapsed: float, path: Path = RESULTS) -> Path:
    path.write_text(markdown(results, quick, elapsed))
    return path


def machine() -> dict[str, str]:
    """nproc, memory, CPU model, Python, PostgreSQL and Redis versions."""
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU": _cpu_model(),
        "memory": _mem_total(),
        "kernel": platform.release(),
        "Python": sys.version.split()[0],
        "PostgreSQL": _pg_version(),
        "Redis": _redis_version(),
        "git commit": _git_head(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mem_total() -> str:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def _pg_version() -> str:
    try:
        import psycopg

        from tests.support.services import PG_ADMIN

        with psycopg.connect(PG_ADMIN, connect_timeout=5) as conn:
            return conn.execute("show server_version").fetchone()[0]
    except Exception as exc:  # a description must never fail the run
        return f"? ({type(exc).__name__})"


def _redis_version() -> str:
    try:
        import redis

        from tests.support.services import REDIS_URL

        return redis.Redis.from_url(REDIS_URL, socket_timeout=5).info("server")["redis_version"]
    except Exception as exc:
        return f"? ({type(exc).__name__})"


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except Exception:
        return "?"
