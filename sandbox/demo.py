"""``make run``: the whole service on the embedded default, with sandbox providers.

Starts the five provider fakes and a sample-media origin in this process, then
the gateway (gunicorn), a worker (all queues) and beat as child processes on
SQLite + the embedded SQLAlchemy broker + local staging. Prints a site's keys,
a sandbox identity per provider, a curl that pushes a sample video, and a
connect-flow link. Ctrl-C stops everything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from app.config import Settings
from app.migrate import upgrade
from sandbox.common import serve
from sandbox.fleet import provider_env, start_fakes
from sandbox.media import MediaApp

BIN = Path(sys.executable).parent
GATEWAY_PORT = int(os.environ.get("PORT", "8000"))
X_PORT = int(os.environ.get("PUSHWIRE_DEMO_X_PORT", "8101"))
MEDIA_PORT = int(os.environ.get("PUSHWIRE_DEMO_MEDIA_PORT", "8100"))
#: The fakes listen on X_PORT, X_PORT+1, ... in this order.
PROVIDERS = ("twitter", "facebook", "linkedin", "pinterest", "youtube")


def demo_env(fakes: dict) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in provider_env(fakes).items():
        env.setdefault(key, value)
    env.setdefault("PUSHWIRE_OUTBOUND_ALLOW", "127.0.0.1,localhost")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_children(env: dict[str, str], data_dir: Path) -> list[subprocess.Popen]:
    commands = [
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{GATEWAY_PORT}", "--workers", "1", "--worker-class",
         "gthread", "--threads", "8", "--log-level", "warning", "app:create_app()"],
        [str(BIN / "celery"), "-A", "workers.worker", "worker", "--loglevel", "warning", "--queues",
         "staging,transcode,upload,callback,maintenance", "--concurrency", "2", "--hostname", "demo@%h"],
        [str(BIN / "celery"), "-A", "workers.worker", "beat", "--loglevel", "warning",
         "--schedule", str(data_dir / "celerybeat-schedule")],
    ]
    return [subprocess.Popen(cmd, env=env, start_new_session=True) for cmd in commands]


def stop_children(children: list[subprocess.Popen], timeout: float = 20) -> None:
    """Stop every child and everything it started; nothing outlives the demo.

    SIGTERM goes to each child itself, not its process group: Celery's main process
    shuts its pool down on its own, and a pool process killed under it makes the
    warm shutdown wait for it forever (the worker used to survive the demo that
    way). Whatever is left of a group after ``timeout`` is killed.
    """
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(child.pid, signal.SIGKILL)  # stragglers: pool processes, a hung leader
        except ProcessLookupError:
            pass
        child.wait()


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:  # not listening yet, or busy starting
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def demo_site(env: dict[str, str], data_dir: Path) -> dict:
    """The demo site's keys, created once and kept in data_dir/demo-site.json."""
    path = data_dir / "demo-site.json"
    if path.exists():
        return json.loads(path.read_text())
    out = subprocess.run([str(BIN / "pushwire"), "site", "create", "demo"], env=env, check=True,
                         capture_output=True, text=True).stdout
    path.write_text(out)
    path.chmod(0o600)
    return json.loads(out)


def connect_identity(provider: str, fake, gateway: str, site: dict) -> tuple[str, dict]:
    """Create a sandbox account at ``provider`` and import its tokens, as a site would."""
    user = fake.add_user("1000001", f"sandbox_{provider}")
    body = {"request": {"identity": {
        "provider": provider, "access_token": user["access_token"], "refresh_token": user.get("refresh_token"),
        "expires_in": user.get("expires_in") or 7200, "provider_user_id": "1000001",
        "profile": {"name": f"Sandbox {provider} user", "location": "Localhost", "num_followers": 42}}}}
    resp = requests.post(f"{gateway}/identities.json", json=body, auth=(site["public_key"], site["private_key"]))
    resp.raise_for_status()
    return resp.json()["response"]["result"]["data"]["identity"]["identity_token"], user


def register_callback(env: dict[str, str], site: dict, url: str) -> None:
    """Let the connect flow return to the sandbox site's /connected page."""
    listed = subprocess.run([str(BIN / "pushwire"), "site", "callback", "list", site["public_key"]], env=env,
                            capture_output=True, text=True).stdout
    if url not in listed:
        subprocess.run([str(BIN / "pushwire"), "site", "callback", "add", site["public_key"], url], env=env,
                       check=True, capture_output=True)


def main() -> None:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings)
    fakes = start_fakes(ports={p: X_PORT + i for i, p in enumerate(PROVIDERS)})
    env = demo_env(fakes)
    media_server = serve(MediaApp(), port=MEDIA_PORT)
    children = start_children(env, settings.data_dir)
    gateway = f"http://127.0.0.1:{GATEWAY_PORT}"
    try:
        wait_for(gateway + "/push/requests.json")
        site = demo_site(env, settings.data_dir)
        identities = {p: connect_identity(p, fakes[p].state, gateway, site) for p in PROVIDERS}
        register_callback(env, site, f"http://127.0.0.1:{MEDIA_PORT}/connected")
        print_banner(gateway, site, identities, fakes)
        while all(child.poll() is None for child in children):
            time.sleep(1)
        print("a child process exited; stopping", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        stop_children(children)
        for handle in fakes.values():
            handle.stop()
        media_server.stop()


def print_banner(gateway: str, site: dict, identities: dict, fakes: dict) -> None:
    media = f"http://127.0.0.1:{MEDIA_PORT}"
    auth = f"{site['public_key']}:{site['private_key']}"
    identity = identities["twitter"][0]
    body = json.dumps({"request": {"push": {"video": {
        "video_url": f"{media}/sample.mp4", "callback_url": f"{media}/inbox"}}}})
    rows = "\n".join(f"  {p:<10} {token}  (sandbox API at {fakes[p].url})" for p, (token, _) in identities.items())
    page_id = identities["facebook"][1].get("page_id")
    board_id = identities["pinterest"][1].get("board_id")
    print(f"""
Pushwire is running (embedded default: SQLite, embedded broker, local staging, sandbox providers).

  gateway      {gateway}      (API docs: {gateway}/docs, dashboard: {gateway}/dashboard)
  site keys    {json.dumps(site, indent=2).replace(chr(10), chr(10) + '               ')}
  identities (one sandbox account per provider):
{rows}

Push the sample video to the sandbox X account:

  curl -s -u {auth} \\
    -H 'Content-Type: application/json' \\
    -d '{body}' \\
    {gateway}/push/identities/{identity}/twitter/video.json

Then follow it (use the request_token from the answer):

  curl -s -u {auth} {gateway}/push/requests/<request_token>.json

Other providers work the same way, e.g. a Facebook Page post (page {page_id}) or a Pinterest pin
(board {board_id}); bodies are in {gateway}/docs.

Connect an account in your browser (the sandbox shows Approve/Deny), then read the connection once:

  {gateway}/connect/twitter.html?site={site['public_key']}&callback_uri={media}/connected&state=demo
  curl -s -u {auth} {gateway}/connections/<connection_token>.json

The signed callback is printed here when it arrives. Ctrl-C stops everything.
""", flush=True)


if __name__ == "__main__":
    main()
