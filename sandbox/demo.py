"""``make run``: the whole service on the embedded default, with sandbox providers.

Starts the fake X API and a sample-media origin in this process, then the
gateway (gunicorn), a worker (all queues) and beat as child processes on
SQLite + the embedded SQLAlchemy broker + local staging. Prints a site's keys
and a curl that pushes a sample video. Ctrl-C stops everything.
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
from sandbox.media import MediaApp

BIN = Path(sys.executable).parent
GATEWAY_PORT = int(os.environ.get("PORT", "8000"))
X_PORT = int(os.environ.get("PUSHWIRE_DEMO_X_PORT", "8101"))
MEDIA_PORT = int(os.environ.get("PUSHWIRE_DEMO_MEDIA_PORT", "8100"))


def demo_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PUSHWIRE_TWITTER_API_URL", f"http://127.0.0.1:{X_PORT}")
    env.setdefault("PUSHWIRE_TWITTER_CLIENT_ID", "sandbox-client")
    env.setdefault("PUSHWIRE_TWITTER_CLIENT_SECRET", "sandbox-secret")
    env.setdefault("PUSHWIRE_OUTBOUND_ALLOW", "127.0.0.1,localhost")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_children(env: dict[str, str], data_dir: Path) -> list[subprocess.Popen]:
    commands = [
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{GATEWAY_PORT}", "--workers", "1", "--worker-class",
         "gthread", "--threads", "8", "--log-level", "warning", "app:create_app()"],
        [str(BIN / "celery"), "-A", "workers.worker", "worker", "--loglevel", "warning", "--queues",
         "staging,upload,callback,maintenance", "--concurrency", "2", "--hostname", "demo@%h"],
        [str(BIN / "celery"), "-A", "workers.worker", "beat", "--loglevel", "warning",
         "--schedule", str(data_dir / "celerybeat-schedule")],
    ]
    return [subprocess.Popen(cmd, env=env, start_new_session=True) for cmd in commands]


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
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


def connect_identity(fake, gateway: str, site: dict) -> str:
    """Create a sandbox X account and import its tokens, as a site would."""
    user = fake.add_user("1000001", "sandbox_user")
    body = {"request": {"identity": {
        "provider": "twitter", "access_token": user["access_token"], "refresh_token": user["refresh_token"],
        "expires_in": 7200, "provider_user_id": "1000001",
        "profile": {"name": "Sandbox User", "location": "Localhost", "num_followers": 42}}}}
    resp = requests.post(f"{gateway}/identities.json", json=body, auth=(site["public_key"], site["private_key"]))
    resp.raise_for_status()
    return resp.json()["response"]["result"]["data"]["identity"]["identity_token"]


def main() -> None:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = demo_env()
    upgrade(settings)
    from sandbox.twitter import create_app as create_fake_x

    fake_app = create_fake_x()
    x_server = serve(fake_app, port=X_PORT)
    media_server = serve(MediaApp(), port=MEDIA_PORT)
    children = start_children(env, settings.data_dir)
    gateway = f"http://127.0.0.1:{GATEWAY_PORT}"
    try:
        wait_for(gateway + "/push/requests.json")
        site = demo_site(env, settings.data_dir)
        identity = connect_identity(fake_app.extensions["fake"], gateway, site)
        print_banner(gateway, site, identity)
        while all(child.poll() is None for child in children):
            time.sleep(1)
        print("a child process exited; stopping", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            try:
                os.killpg(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for child in children:
            child.wait(timeout=20)
        x_server.stop()
        media_server.stop()


def print_banner(gateway: str, site: dict, identity: str) -> None:
    media = f"http://127.0.0.1:{MEDIA_PORT}"
    body = json.dumps({"request": {"push": {"video": {
        "video_url": f"{media}/sample.mp4", "callback_url": f"{media}/inbox"}}}})
    print(f"""
Pushwire is running (embedded default: SQLite, embedded broker, local staging, sandbox X).

  gateway      {gateway}
  sandbox X    http://127.0.0.1:{X_PORT}
  site keys    {json.dumps(site, indent=2).replace(chr(10), chr(10) + '               ')}
  identity     {identity}  (a sandbox X account)

Push the sample video to the sandbox X account:

  curl -s -u {site['public_key']}:{site['private_key']} \\
    -H 'Content-Type: application/json' \\
    -d '{body}' \\
    {gateway}/push/identities/{identity}/twitter/video.json

Then follow it (use the request_token from the answer):

  curl -s -u {site['public_key']}:{site['private_key']} {gateway}/push/requests/<request_token>.json

The signed callback is printed here when it arrives. Ctrl-C stops everything.
""", flush=True)


if __name__ == "__main__":
    main()
