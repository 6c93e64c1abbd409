"""JSON decoding with a nesting limit, so a hostile body cannot exhaust the stack.

A 1 MB body of ``[[[[...`` would otherwise make the decoder recurse until Python's
recursion limit and surface as a 500. Installed as the app's JSON provider, so
every ``request.get_json`` benefits.
"""

from __future__ import annotations

import json

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 64


def nesting_depth(text: str | bytes) -> int:
    """Deepest bracket nesting outside of strings (a linear scan, no recursion);
    for texts with at most ``MAX_DEPTH`` brackets, their count (an upper bound)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    opened = text.count("[") + text.count("{")
    if opened <= MAX_DEPTH:
        return opened  # an upper bound, and under the limit: no need to scan (the common case)
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        if nesting_depth(s) > MAX_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
        return json.loads(s, **kwargs)
