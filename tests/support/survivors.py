"""The suite leaves no process behind: a pytest plugin that fails the session when a
process it started outlives it.

At start the pytest process becomes a *child subreaper* (Linux ``prctl``): processes
its children leave behind (a daemon, a Celery worker whose parent exited, anything
started in its own session) are re-parented to pytest instead of to init, so at the
end every survivor is still a child of pytest, however it was started. After the
session (fixtures torn down), survivors get a grace period to exit; any left are
listed, killed, and the session fails.

``tests/conftest.py`` imports the hooks; ``-p tests.support.survivors`` loads them
into any pytest run.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
#: Seconds survivors get to exit after the session (``PUSHWIRE_TEST_SURVIVOR_GRACE``).
GRACE_SECONDS = float(os.environ.get("PUSHWIRE_TEST_SURVIVOR_GRACE", "15"))


def pytest_configure(config) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            config.issue_config_time_warning(  # pragma: no cover - no prctl
                UserWarning(f"could not become a subreaper: errno {ctypes.get_errno()}"), stacklevel=2)


def live_children(pid: int | None = None) -> dict[int, str]:
    """{pid: command line} of the living (non-zombie) children of ``pid``; zombies are reaped."""
    pid = pid or os.getpid()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            state, ppid = fields[0], int(fields[1])
            if ppid != pid:
                continue
            if state == "Z":
                _reap(int(entry))
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                found[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError):
            continue  # exited while we looked
    return found


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def pytest_sessionfinish(session, exitstatus) -> None:
    if not sys.platform.startswith("linux"):
        return
    deadline = time.monotonic() + GRACE_SECONDS
    survivors = live_children()
    while survivors and time.monotonic() < deadline:
        time.sleep(0.2)
        survivors = live_children()
    if not survivors:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(survivors)} process(es) started by the test suite survived it (killed now):"]
    lines += [f"  pid {pid}: {cmd[:200]}" for pid, cmd in sorted(survivors.items())]
    if reporter is not None:
        reporter.ensure_newline()
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:  # pragma: no cover
            print(line, file=sys.stderr)
    for pid in survivors:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.2)
    live_children()  # reap them
    session.exitstatus = 1
