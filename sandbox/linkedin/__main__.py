"""``python -m sandbox.linkedin [--host H] [--port P] [--user NAME ...]``: serve the fake.

Each ``--user`` is created at start (with one organization it administers) and its
tokens printed as one JSON line, so a demo can pick them up. Stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import threading

from ..common import serve
from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.linkedin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--user", action="append", default=[], help="username to create at start")
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument("--not-partner", action="store_true", help="the app gets no refresh tokens")
    parser.add_argument("--image-processing-secs", type=float, default=0.0)
    args = parser.parse_args(argv)
    app = create_app(
        client_id=args.client_id,
        client_secret=args.client_secret,
        partner=not args.not_partner,
        image_processing_secs=args.image_processing_secs,
    )
    fake = app.extensions["fake"]
    for username in args.user:
        print(json.dumps(fake.add_user(None, username)), flush=True)
    handle = serve(app, host=args.host, port=args.port)
    print(f"fake LinkedIn API on {handle.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        handle.stop()


if __name__ == "__main__":
    main()
