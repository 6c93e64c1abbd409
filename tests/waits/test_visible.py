"""Waiting pushes are visible: the dashboard timeline, the CLI's text timeline and list."""

from __future__ import annotations

import datetime as dt

from app.cli_client import progress, render_timeline
from app.dashboard.timeline import timeline_svg

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)


def _at(seconds: float) -> str:
    return (NOW + dt.timedelta(seconds=seconds)).isoformat()


def waiting_detail() -> dict:
    """A post that met X's usage cap 10 s after it was accepted and waits 22.9 h."""
    return {
        "request_token": "tok-1", "provider": "twitter", "kind": "post", "state": "waiting",
        "provider_ids": {}, "date_creation": _at(-12), "publish_at": None,
        "waiting": {"until": _at(22.9 * 3600), "reason": "usage_capped", "resumes": "upload",
                    "info": "X rate limit reached; the upload waits until the limit resets."},
        "audit": {
            "stages": [{"stage": "upload", "attempt": 1, "outcome": "retrying", "started_at": _at(-11),
                        "ended_at": _at(-10), "bytes_moved": 0, "error_reason": "usage_capped",
                        "error_info": "X rate limit reached", "retry_at": _at(22.9 * 3600)}],
            "callbacks": [],
            "transitions": [
                {"from": None, "to": "queued", "at": _at(-12), "reason": "accepted"},
                {"from": "queued", "to": "uploading", "at": _at(-11), "reason": "provider upload started"},
                {"from": "uploading", "to": "waiting", "at": _at(-10),
                 "reason": "usage_capped: waits until 2026-11-30 10:54:00 UTC, then runs the upload stage"},
            ],
        },
    }


def test_dashboard_timeline_draws_the_wait_until_resume_at_with_its_reason():
    svg = str(timeline_svg(waiting_detail(), now=NOW))
    assert 'class="bar waiting current"' in svg
    until = (NOW + dt.timedelta(seconds=22.9 * 3600)).strftime("%Y-%m-%d %H:%M:%S")
    assert f"usage_capped until {until} UTC" in svg
    assert ">4h<" in svg or ">12h<" in svg  # the axis spans the wait, in hours


def test_dashboard_timeline_marks_publish_at_and_past_waits():
    detail = waiting_detail()
    detail["publish_at"] = _at(3 * 86400 * 100)  # far ahead: the axis still has ticks
    detail["state"], detail["waiting"] = "succeeded", None
    detail["audit"]["transitions"].append({"from": "waiting", "to": "uploading", "at": _at(60), "reason": "x"})
    svg = str(timeline_svg(detail, now=NOW))
    assert 'class="publish-at"' in svg and 'class="bar waiting"' in svg and "current" not in svg


def test_cli_timeline_and_progress_say_until_when_and_why():
    text = render_timeline(waiting_detail())
    assert "waiting: usage_capped until" in text and "then the upload stage" in text
    assert progress(waiting_detail())[1].startswith("waiting (usage_capped) until")
