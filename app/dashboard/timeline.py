"""A request's audit as an inline SVG timeline.

``timeline_svg(detail, now)`` takes ``app.status.render.render_request``'s dict
and draws one bar per stage attempt (start to end, coloured by outcome, its
error reason written beside it), one bar per stay in the ``waiting`` state (from
the park to the resume, or to ``resume_at`` while it still waits, with its
reason), a marker at a scheduled push's ``publish_at``, and one marker per
callback attempt.
"""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape

COLOURS = {"succeeded": "#2e9b57", "delivered": "#2e9b57", "retrying": "#e08a00", "failed": "#c23b3b",
           "running": "#2f7bd8", "unconfirmed": "#8a5cc2", "cancelled": "#7a828c", "waiting": "#9aa5b1"}
WIDTH, LEFT, RIGHT, ROW, TOP = 1000, 130, 250, 30, 30


def _parse(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _span(detail: dict, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    audit = detail["audit"]
    times = [_parse(detail.get("date_creation"))]
    times += [_parse(s["started_at"]) for s in audit["stages"]]
    times += [_parse(s["ended_at"]) or now for s in audit["stages"]]
    times += [_parse(c["at"]) for c in audit["callbacks"]]
    times += [_parse(t["at"]) for t in audit["transitions"]]
    times += [w["end"] for w in waits(detail, now)] + [_parse(detail.get("publish_at"))]
    times = [t for t in times if t is not None] or [now]
    start, end = min(times), max(times)
    return start, max(end, start + dt.timedelta(seconds=1))


def waits(detail: dict, now: dt.datetime) -> list[dict]:
    """Each stay in ``waiting``: start, end (``resume_at`` while it still waits),
    reason (the code before the transition's first colon) and the full text."""
    moves, out = detail["audit"]["transitions"], []
    for i, move in enumerate(moves):
        if move["to"] != "waiting":
            continue
        current = i == len(moves) - 1
        end = (_parse((detail.get("waiting") or {}).get("until")) if current else _parse(moves[i + 1]["at"])) or now
        text = move.get("reason") or ""
        out.append({"start": _parse(move["at"]), "end": end, "reason": text.split(":")[0] or "waiting",
                    "text": text, "current": current})
    return out


def timeline_svg(detail: dict, now: dt.datetime | None = None) -> Markup:
    """The SVG markup (safe to embed) for one request's audit."""
    now = now or dt.datetime.now(dt.timezone.utc)
    stages, callbacks = detail["audit"]["stages"], detail["audit"]["callbacks"]
    start, end = _span(detail, now)
    scale = (WIDTH - LEFT - RIGHT) / (end - start).total_seconds()

    def x(moment: dt.datetime) -> float:
        return LEFT + (moment - start).total_seconds() * scale

    stays = waits(detail, now)
    rows = len(stages) + len(stays) + (1 if callbacks else 0)
    height = TOP + max(rows, 1) * ROW + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="timeline of request {escape(detail["request_token"])}">',
             f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>']
    parts += _axis(start, end, x, height)
    media = detail["audit"].get("media") or {}
    for i, stage in enumerate(stages):
        parts += _stage_bar(stage, TOP + i * ROW, x, now, media)
    for i, stay in enumerate(stays):
        parts += _wait_bar(stay, TOP + (len(stages) + i) * ROW, x)
    if callbacks:
        parts += _callback_row(callbacks, TOP + (len(stages) + len(stays)) * ROW, x)
    if detail.get("publish_at"):
        parts += _publish_marker(_parse(detail["publish_at"]), x, height)
    if not stages and not callbacks and not stays:
        parts.append(f'<text x="{LEFT}" y="{TOP + 18}" fill="#69737f">waiting for a worker…</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _axis(start: dt.datetime, end: dt.datetime, x, height: int) -> list[str]:
    total = (end - start).total_seconds()
    step = next((s for s in STEPS if total / s <= 10), STEPS[-1] * (total // (STEPS[-1] * 10) + 1))
    out, tick = [], 0.0
    while tick <= total + 1e-9:
        pos = x(start + dt.timedelta(seconds=tick))
        out.append(f'<line x1="{pos:.1f}" y1="{TOP - 8}" x2="{pos:.1f}" y2="{height - 22}" stroke="#e3e7ec"/>')
        out.append(f'<text x="{pos:.1f}" y="{height - 8}" font-size="11" fill="#69737f" '
                   f'text-anchor="middle">{_tick(tick)}</text>')
        tick += step
    return out


STEPS = (0.5, 1, 2, 5, 10, 30, 60, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400)


def _tick(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _wait_bar(stay: dict, y: int, x) -> list[str]:
    left, right = x(stay["start"]), max(x(stay["end"]), x(stay["start"]) + 3)
    colour = COLOURS["waiting"]
    until = stay["end"].astimezone(dt.timezone.utc)
    note = f'{stay["reason"]} until {until:%Y-%m-%d %H:%M:%S} UTC'
    dashed = ' stroke="#5f6b78" stroke-dasharray="4 3"' if stay["current"] else ""
    return [
        f'<text x="8" y="{y + 17}" font-size="13" fill="#1d2430">waiting</text>',
        f'<rect class="bar waiting{" current" if stay["current"] else ""}" x="{left:.1f}" y="{y + 4}" '
        f'width="{right - left:.1f}" height="{ROW - 10}" rx="3" fill="{colour}"{dashed}>'
        f'<title>{escape(stay["text"])}</title></rect>',
        f'<text x="{right + 6:.1f}" y="{y + 17}" font-size="12" fill="#5f6b78">{escape(note)}</text>',
    ]


def _publish_marker(at: dt.datetime, x, height: int) -> list[str]:
    pos = x(at)
    return [f'<line class="publish-at" x1="{pos:.1f}" y1="{TOP - 14}" x2="{pos:.1f}" y2="{height - 22}" '
            f'stroke="#2e9b57" stroke-dasharray="2 2"/>',
            f'<text x="{pos:.1f}" y="{TOP - 16}" font-size="11" fill="#2e9b57" text-anchor="middle">'
            f'publish_at {at.astimezone(dt.timezone.utc):%H:%M:%S}</text>']


def _stage_bar(stage: dict, y: int, x, now: dt.datetime, media: dict | None = None) -> list[str]:
    begin = _parse(stage["started_at"]) or now
    finish = _parse(stage["ended_at"]) or now
    left, right = x(begin), max(x(finish), x(begin) + 3)
    colour = COLOURS.get(stage["outcome"], "#7a828c")
    label = escape(f'{stage["stage"]} #{stage["attempt"]}')
    seconds = (finish - begin).total_seconds()
    note = stage["outcome"] + (f': {stage["error_reason"]}' if stage.get("error_reason") else "")
    if stage["stage"] == "transcode" and media:
        # The transcode bar says what was decided, and how far a running encode is.
        action = (media.get("decision") or {}).get("action")
        if stage["outcome"] == "running" and media.get("percent") is not None:
            note += f' {media["percent"]:.0f}%'
        elif action and stage["outcome"] == "succeeded":
            note += f": {action}"
    title = escape(f'{stage["stage"]} attempt {stage["attempt"]}: {note} ({seconds:.1f}s, '
                   f'{stage.get("bytes_moved") or 0} bytes){" — " + stage["error_info"] if stage.get("error_info") else ""}')
    return [
        f'<text x="8" y="{y + 17}" font-size="13" fill="#1d2430">{label}</text>',
        f'<rect class="bar {escape(stage["outcome"])}" x="{left:.1f}" y="{y + 4}" width="{right - left:.1f}" '
        f'height="{ROW - 10}" rx="3" fill="{colour}"><title>{title}</title></rect>',
        f'<text x="{right + 6:.1f}" y="{y + 17}" font-size="12" fill="{colour}">{escape(note)} '
        f'({seconds:.1f}s)</text>',
    ]


def _callback_row(callbacks: list[dict], y: int, x) -> list[str]:
    out = [f'<text x="8" y="{y + 17}" font-size="13" fill="#1d2430">callback</text>']
    for cb in callbacks:
        at = _parse(cb["at"])
        if at is None:
            continue
        colour = COLOURS.get(cb["outcome"], "#7a828c")
        code = cb.get("status_code") or cb.get("error") or cb["outcome"]
        tip = escape(f"attempt {cb['attempt']}: {cb['outcome']} ({code})")
        out.append(f'<circle class="callback {escape(cb["outcome"])}" cx="{x(at):.1f}" cy="{y + 14}" r="7" '
                   f'fill="{colour}"><title>{tip}</title></circle>')
        out.append(f'<text x="{x(at) + 10:.1f}" y="{y + 18}" font-size="11" fill="{colour}">{escape(str(code))}</text>')
    return out
