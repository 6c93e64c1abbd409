"""``python -m sandbox.twitter [--host H] [--port P] [--user NAME ...]``: serve the fake.

Each ``--user`` is created at start and its tokens printed as one JSON line, so a
demo can pick them up. Stop with Ctrl-C.
"""

from __future__ import annotations

from ..appkit import CLIENT_ARGS, run_standalone
from .app import create_app


def main(argv: list[str] | None = None) -> None:
    run_standalone(create_app, name="twitter", label="X API v2", default_port=8101, doc=__doc__, argv=argv,
                   extra_args=[("--processing-polls", {"type": int, "default": 2}),
                               ("--check-after-secs", {"type": int, "default": 1}), *CLIENT_ARGS])


if __name__ == "__main__":
    main()
