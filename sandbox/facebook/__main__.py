"""``python -m sandbox.facebook [--host H] [--port P] [--user NAME ...]``: serve the fake.

Each ``--user`` is created at start (with one Page) and its tokens printed as one
JSON line, so a demo can pick them up. Stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import threading

from ..common import serve
from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.facebook", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--user", action="append", default=[], help="username to create at start")
    parser.add_argument("--processing-polls", type=int, default=1)
    parser.add_argument("--legacy-groups", action="store_true", help="let groups accept posts (pre-2024 API)")
    args = parser.parse_args(argv)
    app = create_app(processing_polls=args.processing_polls)
    fake = app.extensions["fake"]
    fake.legacy_groups = args.legacy_groups
    for username in args.user:
        print(json.dumps(fake.add_user(None, username)), flush=True)
    handle = serve(app, host=args.host, port=args.port)
    print(f"fake Facebook Graph API on {handle.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        handle.stop()


if __name__ == "__main__":
    main()
