"""``python -m sandbox.linkedin [--host H] [--port P] [--user NAME ...]``: serve the fake.

Each ``--user`` is created at start (with one organization it administers) and its
tokens printed as one JSON line, so a demo can pick them up. Stop with Ctrl-C.
"""

from __future__ import annotations

from ..appkit import CLIENT_ARGS, run_standalone
from .app import create_app


def main(argv: list[str] | None = None) -> None:
    run_standalone(create_app, name="linkedin", label="LinkedIn API", default_port=8103, doc=__doc__, argv=argv,
                   extra_args=[*CLIENT_ARGS,
                               ("--not-partner", {"action": "store_true", "help": "the app gets no refresh tokens"}),
                               ("--image-processing-secs", {"type": float, "default": 0.0})],
                   app_kwargs=lambda args: {"client_id": args.client_id, "client_secret": args.client_secret,
                                            "partner": not args.not_partner,
                                            "image_processing_secs": args.image_processing_secs})


if __name__ == "__main__":
    main()
