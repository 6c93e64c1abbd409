"""Issue row 6 (logs): the Procfile's web process logs no stream key and no magic token."""

from __future__ import annotations

import time

import requests

from tests.security.procs import procfile_web


def test_access_log_of_the_procfile_web_process_carries_no_secrets(stack, security_env, tmp_path):
    site = stack.create_site("logs")
    out = tmp_path / "web.log"
    with procfile_web(security_env, out) as url:
        with requests.get(url + "/stream/api/", params={"token": site["stream_key"], "since": "0"},
                          stream=True, timeout=10) as resp:
            assert resp.status_code == 200
        link = stack.cli("dashboard", "link", "--site", site["public_key"], "--base-url", url).strip()
        assert requests.get(link, allow_redirects=False, timeout=10).status_code == 302
        time.sleep(1.5)
    text = out.read_text()
    magic = link.rsplit("/", 1)[1]
    assert "GET /stream/api/?token=***" in text and "GET /dashboard/login/***" in text, text[-2000:]
    # Before: both appeared in clear in gunicorn's access log.
    assert site["stream_key"] not in text and magic not in text
