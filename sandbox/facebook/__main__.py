"""``python -m sandbox.facebook [--host H] [--port P] [--user NAME ...]``: serve the fake.

Each ``--user`` is created at start (with one Page) and its tokens printed as one
JSON line, so a demo can pick them up. Stop with Ctrl-C.
"""

from __future__ import annotations

from ..appkit import run_standalone
from .app import create_app


def main(argv: list[str] | None = None) -> None:
    run_standalone(create_app, name="facebook", label="Facebook Graph API", default_port=8102, doc=__doc__, argv=argv,
                   extra_args=[("--processing-polls", {"type": int, "default": 1}),
                               ("--legacy-groups", {"action": "store_true",
                                                    "help": "let groups accept posts (pre-2024 API)"})],
                   app_kwargs=lambda args: {"processing_polls": args.processing_polls},
                   on_start=lambda fake, args: setattr(fake, "legacy_groups", args.legacy_groups))


if __name__ == "__main__":
    main()
