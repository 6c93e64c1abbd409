"""The operator dashboard on real requests: HTML via Flask's test client, pixels via headless Chromium.

A success (with a rate-limit retry) and a failure are pushed through the running
stack; the in-process app reads the same PostgreSQL database with the same secret key.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from app import create_app
from app.config import Settings
from tests.dashboard import png
from tests.support.origin import make_video

pytestmark = pytest.mark.e2e
MB = 1024 * 1024
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def pushed(client, fakes, origin, receiver, redis_stack):
    """Tokens of a succeeded push (one upload retry) and a failed one, by site-a."""
    from tests.conftest import _users

    n = next(_users)
    user = fakes["twitter"].state.add_user(str(40_000 + n), f"dash{n}")
    identity = client.import_identity("twitter", {**user, "user_id": str(40_000 + n)}, {"name": f"dash{n}"})
    fakes["twitter"].state.faults.add("append", "429", count=1, retry_after=1)
    ok = client.push_twitter_video(identity, origin.add("dash-ok.mp4", make_video(2 * MB, seed=41)), receiver.url)
    bad = client.push_twitter_video(identity, origin.add("dash-bad.mp4", b"<html>no video</html>" * 50), receiver.url)
    tokens = {"ok": ok.json()["response"]["result"]["data"]["request_token"],
              "bad": bad.json()["response"]["result"]["data"]["request_token"]}
    assert client.wait_final(tokens["ok"])["state"] == "succeeded"
    assert client.wait_final(tokens["bad"])["state"] == "failed"
    return tokens


@pytest.fixture(scope="module")
def web(redis_stack):
    env = {k[len("PUSHWIRE_"):].lower(): v for k, v in redis_stack.env.items() if k.startswith("PUSHWIRE_")}
    app = create_app(Settings(**env))
    yield app
    app.extensions["pushwire"].db.engine.dispose()


def login(web, site) -> object:
    browser = web.test_client()
    form = browser.get("/dashboard/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    resp = browser.post("/dashboard/login", data={"csrf": csrf, "public_key": site["public_key"],
                                                  "private_key": site["private_key"]})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return browser


def test_login_is_required_and_csrf_checked(web, site):
    browser = web.test_client()
    assert browser.get("/dashboard").status_code == 302
    assert browser.post("/dashboard/login", data={"public_key": site["public_key"],
                                                  "private_key": site["private_key"]}).status_code == 400
    form = browser.get("/dashboard/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    wrong = browser.post("/dashboard/login", data={"csrf": csrf, "public_key": site["public_key"],
                                                   "private_key": "nope"})
    assert wrong.status_code == 401
    browser = login(web, site)
    assert browser.get("/dashboard").status_code == 200
    assert browser.post("/dashboard/logout", data={}).status_code == 400  # no CSRF token


def test_list_filters_and_request_page(web, site, pushed):
    browser = login(web, site)
    html = browser.get("/dashboard").get_data(as_text=True)
    assert pushed["ok"] in html and pushed["bad"] in html and "unsupported_video_format" in html
    failed = browser.get("/dashboard?state=failed").get_data(as_text=True)
    assert pushed["bad"] in failed and pushed["ok"] not in failed
    assert pushed["ok"] not in browser.get("/dashboard?provider=youtube").get_data(as_text=True)

    ok = browser.get(f"/dashboard/requests/{pushed['ok']}").get_data(as_text=True)
    assert "<svg" in ok and 'class="bar succeeded"' in ok and 'class="bar retrying"' in ok
    assert "rate_limited" in ok and 'class="callback delivered"' in ok and "poll.js" in ok
    bad = browser.get(f"/dashboard/requests/{pushed['bad']}").get_data(as_text=True)
    assert 'class="bar failed"' in bad and "unsupported_video_format" in bad
    live = browser.get(f"/dashboard/requests/{pushed['ok']}/live")
    assert live.headers["X-Final"] == "1" and "<svg" in live.get_data(as_text=True)
    assert browser.get(f"/dashboard/requests/{pushed['ok']}.json").get_json()["state"] == "succeeded"


def test_one_site_never_sees_another_sites_requests(web, redis_stack, pushed):
    other = login(web, redis_stack.create_site("dashboard-other"))
    assert pushed["ok"] not in other.get("/dashboard").get_data(as_text=True)
    assert other.get(f"/dashboard/requests/{pushed['ok']}").status_code == 404
    assert other.get(f"/dashboard/requests/{pushed['ok']}.json").status_code == 404


def test_magic_link_renders_the_timeline_in_headless_chromium(redis_stack, site, pushed, tmp_path):
    url = redis_stack.cli("dashboard", "link", "--site", site["public_key"], "--base-url", redis_stack.url,
                          "--next", f"/dashboard/requests/{pushed['ok']}").strip()
    assert url.startswith(redis_stack.url + "/dashboard/login/")
    shot = tmp_path / "request.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,900",
                    url], check=True, capture_output=True, timeout=60)
    data = shot.read_bytes()
    width, height, bpp, rows = png.decode(data)
    assert (width, height) == (1280, 900) and len(data) > 20_000
    seen = png.colours(rows, bpp)
    assert len(seen) > 30, "the screenshot looks blank"
    greens = {c for c in seen if c[1] > 130 and c[0] < 90 and c[2] < 120}  # the succeeded bars
    oranges = {c for c in seen if c[0] > 200 and 110 < c[1] < 170 and c[2] < 60}  # the retry bar
    assert greens and oranges
    assert redis_stack.cli("dashboard", "link", "--site", site["public_key"]).startswith("http")
