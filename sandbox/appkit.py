"""Building a fake's Flask app (``assemble_app``) and serving it from the command line
(``run_standalone``), the parts every fake's ``app.py`` and ``__main__.py`` share.

``assemble_app(__name__, state, [api.bp, control.bp, oauth.install], http_error=_http_error)``
mounts the common ``/_sandbox/`` endpoints (``install_sandbox``), then each part in order
(a blueprint, or an ``install(app, state)`` function), then the error handler.

``python -m sandbox.<name> [--host H] [--port P] [--user NAME ...] [fake options]``
builds the fake's app, creates each ``--user`` (printing the tokens ``add_user``
returns as one JSON line, so a demo can pick them up), serves it and waits for
Ctrl-C. A fake's ``__main__`` is one call::

    def main(argv=None):
        run_standalone(create_app, name="twitter", label="X API v2", default_port=8101,
                       doc=__doc__, argv=argv,
                       extra_args=[("--processing-polls", {"type": int, "default": 2}), *CLIENT_ARGS])
"""

from __future__ import annotations

import argparse
import json
import threading
from typing import Any, Callable, Sequence

from flask import Blueprint, Flask
from werkzeug.exceptions import HTTPException

from .common import install_sandbox, serve

def assemble_app(import_name: str, state: Any, parts: Sequence[Blueprint | Callable[[Flask, Any], None]], *,
                 http_error: Callable[[HTTPException], Any], request_class: type | None = None) -> Flask:
    """A Flask app (no static folder) serving ``state`` (``app.extensions["fake"]``).

    Order: ``install_sandbox``; ``request_class`` if given (else ``DigestingRequest``);
    each of ``parts`` in order (order can matter for overlapping rules): a Blueprint is
    registered, anything else is called as ``part(app, state)``; last, ``http_error``
    answers every ``HTTPException`` in the provider's shape.
    """
    app = Flask(import_name, static_folder=None)
    install_sandbox(app, state)
    if request_class is not None:
        app.request_class = request_class
    for part in parts:
        if isinstance(part, Blueprint):
            app.register_blueprint(part)
        else:
            part(app, state)
    app.register_error_handler(HTTPException, http_error)
    return app


#: An extra option: its flags and ``ArgumentParser.add_argument`` keywords.
ArgSpec = tuple[str | tuple[str, ...], dict]

#: ``--client-id`` / ``--client-secret``, the app credentials most fakes take.
CLIENT_ARGS: tuple[ArgSpec, ...] = (
    ("--client-id", {"default": "sandbox-client"}),
    ("--client-secret", {"default": "sandbox-secret"}),
)


def run_standalone(create_app: Callable[..., Any], *, name: str, label: str, default_port: int,
                   doc: str | None = None, extra_args: Sequence[ArgSpec] = (),
                   app_kwargs: Callable[[argparse.Namespace], dict] | None = None,
                   on_start: Callable[[Any, argparse.Namespace], None] | None = None,
                   argv: list[str] | None = None) -> None:
    """Parse ``argv``, build and serve the fake ``sandbox.<name>`` until Ctrl-C.

    ``extra_args`` are added after ``--host``, ``--port`` and ``--user``, in order.
    ``create_app`` gets ``app_kwargs(args)``, or by default every extra option as a
    keyword (by its argparse ``dest``). ``on_start(fake, args)`` runs on the state
    before the users are created. Prints ``fake <label> on <url>`` once serving.
    """
    parser = argparse.ArgumentParser(prog=f"python -m sandbox.{name}", description=doc)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--user", action="append", default=[], help="username to create at start")
    dests = []
    for flags, options in extra_args:
        flags = (flags,) if isinstance(flags, str) else flags
        dests.append(parser.add_argument(*flags, **options).dest)
    args = parser.parse_args(argv)
    kwargs = app_kwargs(args) if app_kwargs else {dest: getattr(args, dest) for dest in dests}
    app = create_app(**kwargs)
    fake = app.extensions["fake"]
    if on_start:
        on_start(fake, args)
    for username in args.user:
        print(json.dumps(fake.add_user(None, username)), flush=True)
    handle = serve(app, host=args.host, port=args.port)
    print(f"fake {label} on {handle.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        handle.stop()
