"""A user connects an X account in headless Chromium: the browser opens Pushwire's
connect URL, lands on the fake's consent page, types a login and clicks Approve,
and ends on the site's callback page with a connection_token that resolves to the
identity.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe``
(NUL-separated JSON on file descriptors 3 and 4), so no extra package is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.connect.browser import Browser

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class DevTools:
    """Just enough of the DevTools protocol: one page target, commands, evaluate."""

    def __init__(self, profile_dir: str):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds():  # Chromium reads commands on fd 3 and writes answers on fd 4
            high_r, high_w = os.dup(to_child_r), os.dup(from_child_w)  # either may sit on 3 or 4
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
             "--remote-debugging-pipe", f"--user-data-dir={profile_dir}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=wire_fds,  # kept open after preexec_fn
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._next, self._buffer, self.session = 0, b"", None
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def send(self, method: str, **params) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_child, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression!r}; at {self.evaluate('location.href')}")

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._to_child)
        os.close(self._from_child)


@pytest.fixture()
def chromium(tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    tools = DevTools(str(tmp_path / "profile"))
    yield tools
    tools.close()


def test_user_connects_x_in_chromium_by_clicking_approve(chromium, redis_stack, site, client, origin, fakes):
    landing = origin.add("connected.html", b"<!doctype html><title>Connected</title><p>Welcome back</p>")
    redis_stack.cli("site", "callback", "add", site["public_key"], landing)
    fakes["twitter"].state.consent.auto_decision = None  # show the page: the user decides
    start = Browser(redis_stack.url).start_url("twitter", site["public_key"], callback=landing, state="chrome-1")

    chromium.send("Page.enable")
    chromium.send("Page.navigate", url=start)
    chromium.wait_for("document.getElementById('approve') !== null")
    assert "tweet.write" in chromium.evaluate("document.getElementById('scopes').innerText")
    chromium.evaluate("document.getElementById('login').value = 'chromium-user';"
                      "document.getElementById('approve').click(); true")
    final = chromium.wait_for(f"location.href.startsWith({json.dumps(landing)}) && location.href")

    params = {k: v[0] for k, v in parse_qs(urlsplit(final).query).items()}
    assert params["state"] == "chrome-1"
    resp = client.get(f"/connections/{params['connection_token']}.json")
    assert resp.status_code == 200, resp.text
    identity = resp.json()["response"]["result"]["data"]["user"]["identity"]
    assert identity["provider"] == "twitter"
    assert fakes["twitter"].state.users[identity["provider_user_id"]]["username"] == "chromium-user"
    shown = client.get(f"/identities/{identity['identity_token']}.json")
    assert shown.status_code == 200
