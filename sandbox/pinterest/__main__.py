"""``python -m sandbox.pinterest [--host H] [--port P] [--user NAME ...]``: serve the fake.

Each ``--user`` is created at start and its tokens and board id printed as one JSON
line, so a demo can pick them up. Stop with Ctrl-C.
"""

from __future__ import annotations

from ..appkit import CLIENT_ARGS, run_standalone
from .app import create_app


def _start(fake, args) -> None:
    if args.trial:  # a Trial app talks to the API sandbox host
        fake.set_trial(1000, sandbox_host=True)


def main(argv: list[str] | None = None) -> None:
    run_standalone(create_app, name="pinterest", label="Pinterest API v5", default_port=8104, doc=__doc__, argv=argv,
                   extra_args=[("--processing-polls", {"type": int, "default": 1}),
                               ("--trial", {"action": "store_true", "help": "trial access: 1,000 requests a day"}),
                               *CLIENT_ARGS],
                   app_kwargs=lambda args: {"client_id": args.client_id, "client_secret": args.client_secret,
                                            "processing_polls": args.processing_polls},
                   on_start=_start)


if __name__ == "__main__":
    main()
