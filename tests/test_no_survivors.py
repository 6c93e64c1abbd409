"""The session-end check of ``tests/support/survivors.py`` fails a run that leaves a
process behind, whether the process kept its parent or was orphaned."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LEAKY = '''
import subprocess, sys, time

def test_leaves_a_child():
    subprocess.Popen(["sleep", "120"], start_new_session=True)

def test_leaves_an_orphan(tmp_path):
    # sh exits at once; its background sleep is re-parented (to the subreaper: pytest).
    subprocess.run(["sh", "-c", "sleep 121 </dev/null >/dev/null 2>&1 &"], check=True)
'''

TIDY = '''
import subprocess

def test_waits_for_its_child():
    subprocess.run(["sleep", "0.1"], check=True)
'''


def _run(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(body))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                           "tests.support.survivors", "-c", str(tmp_path / "pytest.ini"), str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "PUSHWIRE_TEST_SURVIVOR_GRACE": "1"})


def _sleepers(seconds: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"^sleep {seconds}$"], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def test_a_run_that_leaves_processes_fails_and_they_are_killed(tmp_path):
    result = _run(tmp_path, LEAKY)
    assert "2 passed" in result.stdout, result.stdout
    assert result.returncode == 1, result.stdout
    assert "2 process(es) started by the test suite survived it" in result.stdout
    assert "sleep 120" in result.stdout and "sleep 121" in result.stdout
    assert _sleepers("120") == [] and _sleepers("121") == []


def test_a_tidy_run_passes(tmp_path):
    result = _run(tmp_path, TIDY)
    assert result.returncode == 0 and "survived" not in result.stdout, result.stdout
