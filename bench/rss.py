"""Memory of process trees, read from ``/proc/<pid>/status`` (Linux).

``RssSampler({"worker": pid, "web": pid})`` samples VmRSS of every process in
each named tree (the process and all its descendants, e.g. Celery's prefork
children) every ``interval`` seconds in a thread; ``peaks()`` returns, per pid,
the kernel's own high-water mark (VmHWM) and the highest VmRSS sampled.
"""

from __future__ import annotations

import os
import threading

KB = 1024
MB = 1024 * 1024


def read_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in bytes (empty if the process is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) * KB
    except OSError:
        pass
    return out


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        for task in _tasks(pid):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    return found


def _tasks(pid: int) -> list[str]:
    try:
        return os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:80]
    except OSError:
        return "?"


class RssSampler:
    """Samples the trees of ``roots`` (name -> pid) until ``stop()``."""

    def __init__(self, roots: dict[str, int], interval: float = 0.1):
        self.roots, self.interval = roots, interval
        self.samples: dict[int, dict] = {}  # pid -> {"tree","rss","hwm"}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "RssSampler":
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> "RssSampler":
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        for tree, root in self.roots.items():
            for pid in descendants(root):
                status = read_status(pid)
                if not status:
                    continue
                row = self.samples.setdefault(pid, {"tree": tree, "rss": 0, "hwm": 0, "cmd": cmdline(pid)})
                row["rss"] = max(row["rss"], status.get("VmRSS", 0))
                row["hwm"] = max(row["hwm"], status.get("VmHWM", 0))

    def peak(self, tree: str | None = None) -> int:
        """Highest VmHWM (bytes) of any process (of ``tree``) seen so far."""
        return max((r["hwm"] for r in self.samples.values() if tree in (None, r["tree"])), default=0)

    def peaks(self) -> dict[int, dict]:
        return {pid: dict(row) for pid, row in self.samples.items()}


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in descendants(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total
