"""Issue row 6 (logs): the Procfile's web process logs no stream key and no magic token."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import requests

from tests.support.stack import BIN, ROOT, free_port


def test_access_log_of_the_procfile_web_process_carries_no_secrets(stack, security_env, tmp_path):
    site = stack.create_site("logs")
    command = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    port = free_port()
    out = tmp_path / "web.log"
    with open(out, "wb") as log:
        proc = subprocess.Popen(["/bin/sh", "-c", "exec " + command["web"]], cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**security_env, "PORT": str(port), "WEB_CONCURRENCY": "1", "WEB_THREADS": "4",
                                     "PATH": f"{BIN}:{os.environ['PATH']}"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(url + "/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        with requests.get(url + "/stream/api/", params={"token": site["stream_key"], "since": "0"},
                          stream=True, timeout=10) as resp:
            assert resp.status_code == 200
        link = stack.cli("dashboard", "link", "--site", site["public_key"], "--base-url", url).strip()
        assert requests.get(link, allow_redirects=False, timeout=10).status_code == 302
        time.sleep(1.5)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    text = out.read_text()
    magic = link.rsplit("/", 1)[1]
    assert "GET /stream/api/?token=***" in text and "GET /dashboard/login/***" in text, text[-2000:]
    # Before: both appeared in clear in gunicorn's access log.
    assert site["stream_key"] not in text and magic not in text
