"""``python -m sandbox.youtube [--host H] [--port P] [--user NAME ...]``: serve the fake.

Each ``--user`` is created at start and its tokens and ids printed as one JSON
line, so a demo can pick them up. Stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import threading

from ..common import serve
from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.youtube", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8105)
    parser.add_argument("--user", action="append", default=[], help="username to create at start")
    parser.add_argument("--processing-seconds", type=float, default=1.0)
    parser.add_argument("--quota-model", choices=("current", "legacy"), default="current")
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    args = parser.parse_args(argv)
    app = create_app(client_id=args.client_id, client_secret=args.client_secret,
                     processing_seconds=args.processing_seconds, quota_model=args.quota_model)
    fake = app.extensions["fake"]
    for username in args.user:
        print(json.dumps(fake.add_user(None, username)), flush=True)
    handle = serve(app, host=args.host, port=args.port)
    print(f"fake YouTube Data API v3 on {handle.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        handle.stop()


if __name__ == "__main__":
    main()
