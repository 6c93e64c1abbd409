"""``pushwire push ...`` and ``pushwire requests ...``: the HTTP API from a terminal.

Credentials come from options or the environment: ``PUSHWIRE_API_URL``,
``PUSHWIRE_PUBLIC_KEY``, ``PUSHWIRE_PRIVATE_KEY``.

    pushwire push video --identity T --provider twitter --url https://.../a.mp4 --wait
    pushwire requests show TOKEN
    pushwire requests list --state failed
    pushwire push video ... --publish-at 2027-03-01T09:30:00+01:00   # scheduled
    pushwire requests list --state waiting                            # scheduled or parked, until when and why
    pushwire requests cancel TOKEN
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

import click
import requests

from app.states import FINAL_STATES

PHASES = {"queued": 0.0, "staging": 0.0, "waiting": 0.0, "uploading": 0.4, "processing": 0.9,
          "delivering_callback": 0.97}


class Api:
    """A site's Basic-auth session against the gateway; errors become ClickExceptions."""

    def __init__(self, url: str, public_key: str, private_key: str):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.auth = (public_key, private_key)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            resp = self.http.request(method, self.url + path, json=body, timeout=30)
        except requests.RequestException as exc:
            raise click.ClickException(f"cannot reach {self.url}: {exc}") from None
        try:
            envelope = resp.json()["response"]
        except (ValueError, KeyError, TypeError):
            raise click.ClickException(f"{resp.status_code} from {path}: {resp.text[:200]}") from None
        status = envelope["request"]["status"]
        if status["flag"] != "success":
            raise click.ClickException(f"{status['code']} {status.get('reason', '')}: {status['info']}")
        return envelope["result"]["data"]

    def status(self, token: str) -> dict:
        return self.call("GET", f"/push/requests/{token}.json")["request"]


def api_options(func):
    """The three connection options shared by every client command."""
    func = click.option("--private-key", envvar="PUSHWIRE_PRIVATE_KEY", required=True,
                        help="Site private key (env PUSHWIRE_PRIVATE_KEY).")(func)
    func = click.option("--public-key", envvar="PUSHWIRE_PUBLIC_KEY", required=True,
                        help="Site public key (env PUSHWIRE_PUBLIC_KEY).")(func)
    return click.option("--api-url", envvar="PUSHWIRE_API_URL", default="http://127.0.0.1:8000",
                        show_default=True, help="Gateway URL (env PUSHWIRE_API_URL).")(func)


@click.group("push")
def push() -> None:
    """Push content through the API."""


@push.command("video")
@api_options
@click.option("--identity", required=True, help="The identity token.")
@click.option("--provider", required=True, type=click.Choice(["facebook", "pinterest", "twitter", "youtube"]))
@click.option("--url", "video_url", required=True, help="Absolute http(s) URL of the video.")
@click.option("--callback-url", help="Where the result is POSTed when done.")
@click.option("--title", help="Title (YouTube requires one; X takes none).")
@click.option("--description")
@click.option("--board", help="Pinterest board id.")
@click.option("--publish-at", help="Schedule: RFC 3339 with an offset, or epoch seconds (the video is fetched now).")
@click.option("--wait/--no-wait", default=False, help="Show progress until the push is final.")
def push_video(api_url, public_key, private_key, identity, provider, video_url, callback_url, title,
               description, board, publish_at, wait):
    """Submit a video push; with --wait, draw a progress bar and print the final result."""
    api = Api(api_url, public_key, private_key)
    node = {"video_url": video_url, "callback_url": callback_url, "title": title,
            "description": description, "board": board, "publish_at": publish_at}
    node = {k: v for k, v in node.items() if v is not None}
    path = f"/push/identities/{identity}/{provider}/{'pin' if provider == 'pinterest' else 'video'}.json"
    data = api.call("POST", path, {"request": {"push": {"pin" if provider == "pinterest" else "video": node}}})
    token = data["request_token"]
    click.echo(f"request_token: {token}", err=True)
    if not wait:
        click.echo(json.dumps(data, indent=2))
        return
    final = follow(api, token)
    click.echo(json.dumps({"state": final["state"], "provider_ids": final["provider_ids"],
                           "result": final.get("result"), "error": final.get("error")}, indent=2))
    if final["state"] != "succeeded":
        sys.exit(1)


def follow(api: Api, token: str, interval: float = 0.5, timeout: float = 3600) -> dict:
    """Poll the status API, drawing a bar on stderr, until the request is final."""
    deadline = time.monotonic() + timeout
    while True:
        detail = api.status(token)
        fraction, text = progress(detail)
        draw_bar(fraction, text)
        if detail["state"] in FINAL_STATES or time.monotonic() > deadline:
            click.echo("", err=True)
            return detail
        time.sleep(interval)


def progress(detail: dict) -> tuple[float, str]:
    """(fraction done, caption) from the state and the audit's ``bytes_moved``."""
    state = detail["state"]
    if state in FINAL_STATES:
        return 1.0, state
    if state == "waiting" and detail.get("waiting"):
        wait = detail["waiting"]
        return 0.0, f"waiting ({wait['reason']}) until {wait['until']}"
    stages = detail["audit"]["stages"]
    staged = max((s["bytes_moved"] or 0 for s in stages if s["stage"] == "stage"), default=0)
    running = [s for s in stages if s["outcome"] == "running"]
    moved = (running[-1]["bytes_moved"] or 0) if running else 0
    base = PHASES.get(state, 0.0)
    if state == "uploading" and staged:
        return base + 0.5 * min(moved / staged, 1.0), f"uploading {_mb(moved)}/{_mb(staged)}"
    if state == "staging":
        return 0.0, f"staging {_mb(moved)}"
    return base, state


def _mb(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB"


def draw_bar(fraction: float, text: str, width: int = 30) -> None:
    filled = int(round(fraction * width))
    click.echo(f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:5.1f}% {text:<28}", err=True, nl=False)


@click.group("requests")
def requests_group() -> None:
    """Read push requests and their audit."""


@requests_group.command("show")
@api_options
@click.argument("token")
def requests_show(api_url, public_key, private_key, token):
    """Print a request's timeline: stage attempts, durations, outcomes, reasons, callbacks."""
    click.echo(render_timeline(Api(api_url, public_key, private_key).status(token)))


@requests_group.command("list")
@api_options
@click.option("--provider")
@click.option("--state")
@click.option("--identity", "identity_token")
def requests_list(api_url, public_key, private_key, provider, state, identity_token):
    """List recent requests (newest first)."""
    query = "&".join(f"{k}={v}" for k, v in (("provider", provider), ("state", state),
                                             ("identity_token", identity_token)) if v)
    data = Api(api_url, public_key, private_key).call("GET", "/push/requests.json" + (f"?{query}" if query else ""))
    for row in data["requests"]["entries"]:
        reason = (row.get("error") or {}).get("reason") or ""
        if row.get("waiting"):
            reason = f"{row['waiting']['reason']} until {row['waiting']['until']}"
        click.echo(f"{row['request_token']}  {row['provider']:<9} {row['kind']:<14} {row['state']:<20} {reason}")


@requests_group.command("cancel")
@api_options
@click.argument("token")
def requests_cancel(api_url, public_key, private_key, token):
    """Cancel a push whose publish step has not started (queued, scheduled or waiting)."""
    data = Api(api_url, public_key, private_key).call("DELETE", f"/push/requests/{token}.json")
    click.echo(f"{token}  {data['request']['state']}")


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def render_timeline(detail: dict, width: int = 40) -> str:
    """The audit as text: one line (with a bar scaled to the request's span) per attempt."""
    audit = detail["audit"]
    lines = [f"request  {detail['request_token']}",
             f"         {detail['provider']} {detail['kind']}  state: {detail['state']}",
             f"         ids: {json.dumps(detail.get('provider_ids') or {})}"]
    if detail.get("error"):
        err = detail["error"]
        lines.append(f"         error: {err['reason']} ({err['code']}): {err['info']}")
    if detail.get("publish_at"):
        lines.append(f"         publish_at: {detail['publish_at']}")
    if detail.get("waiting"):
        wait = detail["waiting"]
        lines.append(f"         waiting: {wait['reason']} until {wait['until']}, then the {wait['resumes']} stage "
                     f"runs again: {wait['info']}")
    moments = [_time(detail.get("date_creation"))] + [_time(s["started_at"]) for s in audit["stages"]]
    moments += [_time(s["ended_at"]) for s in audit["stages"]] + [_time(c["at"]) for c in audit["callbacks"]]
    moments = [m for m in moments if m]
    start = min(moments) if moments else None
    span = max(((max(moments) - start).total_seconds() if moments else 0), 0.001)
    lines.append("stages:")
    for s in audit["stages"]:
        begin, end = _time(s["started_at"]), _time(s["ended_at"])
        seconds = (end - begin).total_seconds() if begin and end else None
        offset = int((begin - start).total_seconds() / span * width) if begin and start else 0
        length = max(1, int((seconds or 0) / span * width))
        bar = " " * offset + "=" * length
        took = f"{seconds:6.2f}s" if seconds is not None else "running"
        reason = f"  {s['error_reason']}: {s['error_info']}" if s.get("error_reason") else ""
        lines.append(f"  {s['stage']:<8} #{s['attempt']:<2} {s['outcome']:<10} {took:>8} "
                     f"{_mb(s['bytes_moved'] or 0):>9} |{bar:<{width}}|{reason}")
    lines.append("callbacks:" if audit["callbacks"] else "callbacks: none")
    for c in audit["callbacks"]:
        extra = f"  {c['error']}" if c.get("error") else ""
        lines.append(f"  #{c['attempt']:<2} {c['outcome']:<10} status {c.get('status_code') or '-'}"
                     f"  {c.get('duration_ms') or 0} ms  at {c['at']}{extra}")
    lines.append("transitions: " + " -> ".join(t["to"] for t in audit["transitions"]))
    return "\n".join(lines)
