"""Issue rows 6 (magic links) and 7 against the real gateway: a magic link works once, a
logged-out cookie is refused, cookies are Secure behind a trusted proxy, pages cannot be framed."""

from __future__ import annotations

import re

import pytest
import requests

from app import create_app
from app.config import Settings


@pytest.fixture()
def dash_site(stack):
    return stack.create_site("dash")


def _link(stack, site) -> str:
    return stack.cli("dashboard", "link", "--site", site["public_key"], "--base-url", stack.url).strip()


def test_a_magic_link_works_once(stack, dash_site):
    link = _link(stack, dash_site)
    first = requests.get(link, allow_redirects=False, timeout=10)
    assert first.status_code == 302 and "pushwire_dashboard=" in first.headers["Set-Cookie"]
    # Before: the same link gave a new session every time for its 5 minutes.
    again = requests.get(link, allow_redirects=False, timeout=10)
    assert again.status_code == 401 and "already used" in again.text
    assert "Set-Cookie" not in again.headers or "pushwire_dashboard=" not in again.headers["Set-Cookie"]


def test_a_logged_out_cookie_is_refused(stack, dash_site):
    browser = requests.Session()
    assert browser.get(_link(stack, dash_site), timeout=10).status_code == 200
    stolen = browser.cookies.get("pushwire_dashboard", path="/dashboard")
    page = browser.get(stack.url + "/dashboard", timeout=10)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert browser.post(stack.url + "/dashboard/logout", data={"csrf": csrf}, allow_redirects=False,
                        timeout=10).status_code == 302
    # Before: the cookie stayed valid for its 12 hours after logging out.
    replay = requests.get(stack.url + "/dashboard", cookies={"pushwire_dashboard": stolen},
                          allow_redirects=False, timeout=10)
    assert replay.status_code == 302 and "/dashboard/login" in replay.headers["Location"]
    # A fresh login works again.
    assert requests.get(_link(stack, dash_site), timeout=10).url.endswith("/dashboard")


def test_cookies_are_secure_behind_the_trusted_proxy_and_pages_cannot_be_framed(stack, dash_site):
    via_proxy = requests.get(_link(stack, dash_site), headers={"X-Forwarded-Proto": "https"},
                             allow_redirects=False, timeout=10)
    assert "; Secure" in via_proxy.headers["Set-Cookie"]
    login = requests.get(stack.url + "/dashboard/login", timeout=10)
    assert login.headers["X-Frame-Options"] == "DENY"
    csp = login.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp


def _login_cookie(settings, trusted: int) -> str:
    app = create_app(Settings(**{**settings.model_dump(), "trusted_proxies": trusted}))
    try:
        return app.test_client().get("/dashboard/login", headers={"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]
    finally:
        app.extensions["pushwire"].db.engine.dispose()


def test_forwarded_proto_is_ignored_without_a_trusted_proxy(settings):
    assert "Secure" not in _login_cookie(settings, 0)
    assert "Secure" in _login_cookie(settings, 1)
