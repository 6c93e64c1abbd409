"""The dashboard timeline shows the transcode stage's decision and progress."""

from app.dashboard.timeline import timeline_svg


def _detail(outcome: str, media: dict) -> dict:
    stage = {"stage": "transcode", "attempt": 1, "outcome": outcome, "started_at": "2026-01-01T00:00:01+00:00",
             "ended_at": None if outcome == "running" else "2026-01-01T00:00:05+00:00", "bytes_moved": 0,
             "error_reason": None, "error_info": None}
    return {"request_token": "t", "date_creation": "2026-01-01T00:00:00+00:00",
            "audit": {"media": media, "stages": [stage], "callbacks": [], "transitions": []}}


def test_running_transcode_shows_its_percent_and_a_finished_one_its_decision():
    import datetime as dt

    now = dt.datetime(2026, 1, 1, 0, 0, 3, tzinfo=dt.timezone.utc)
    running = str(timeline_svg(_detail("running", {"percent": 42.4, "decision": {"action": "transcode"}}), now))
    assert "transcode #1" in running and "running 42%" in running
    done = str(timeline_svg(_detail("succeeded", {"percent": 100.0, "decision": {"action": "remux"}}), now))
    assert "succeeded: remux" in done
