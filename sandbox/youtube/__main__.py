"""``python -m sandbox.youtube [--host H] [--port P] [--user NAME ...]``: serve the fake.

Each ``--user`` is created at start and its tokens and ids printed as one JSON
line, so a demo can pick them up. Stop with Ctrl-C.
"""

from __future__ import annotations

from ..appkit import CLIENT_ARGS, run_standalone
from .app import create_app


def main(argv: list[str] | None = None) -> None:
    run_standalone(create_app, name="youtube", label="YouTube Data API v3", default_port=8105, doc=__doc__, argv=argv,
                   extra_args=[("--processing-seconds", {"type": float, "default": 1.0}),
                               ("--quota-model", {"choices": ("current", "legacy"), "default": "current"}),
                               *CLIENT_ARGS])


if __name__ == "__main__":
    main()
