"""``pushwire flower``: start Flower locked, or refuse to start.

Flower can run tasks and shut workers down through its API, so it never runs
open: ``PUSHWIRE_FLOWER_BASIC_AUTH`` (``user:password``, comma-separated for
several) is required, a password must be at least 12 characters and not a
well-known default, and Flower listens on ``PUSHWIRE_FLOWER_ADDRESS``
(``127.0.0.1`` unless set; the compose file sets the container's own address
and publishes no port). The credentials reach Flower through its environment
(``FLOWER_BASIC_AUTH``), not its command line, so ``ps`` does not show them.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from app.runtime import Runtime

MIN_PASSWORD = 12
KNOWN_DEFAULTS = frozenset({"change-me", "changeme", "admin", "password", "flower", "secret",
                            "choose-a-password", "pushwire"})


class FlowerCredentialsError(ValueError):
    """PUSHWIRE_FLOWER_BASIC_AUTH is missing or weak; ``str(e)`` says which rule."""


def check_basic_auth(value: str) -> list[str]:
    """The ``user:password`` entries of the setting, or FlowerCredentialsError."""
    entries = [e.strip() for e in (value or "").split(",") if e.strip()]
    if not entries:
        raise FlowerCredentialsError(
            "PUSHWIRE_FLOWER_BASIC_AUTH is not set: Flower can run tasks and shut workers down, so it "
            "does not start without credentials. Set it to user:password (a password of at least "
            f"{MIN_PASSWORD} characters).")
    for entry in entries:
        user, sep, password = entry.partition(":")
        if not sep or not user or not password:
            raise FlowerCredentialsError("PUSHWIRE_FLOWER_BASIC_AUTH entries must look like user:password.")
        if password.lower() in KNOWN_DEFAULTS or len(password) < MIN_PASSWORD:
            raise FlowerCredentialsError(
                f"PUSHWIRE_FLOWER_BASIC_AUTH for user {user!r}: the password is a well-known default or "
                f"shorter than {MIN_PASSWORD} characters; choose another.")
    return entries


@click.command("flower")
@click.option("--port", default=5555, show_default=True, help="Port Flower listens on.")
@click.pass_obj
def flower(rt: Runtime, port: int) -> None:
    """Start Flower with basic auth on an internal address (refuses without credentials)."""
    settings = rt.settings
    try:
        entries = check_basic_auth(settings.flower_basic_auth)
    except FlowerCredentialsError as exc:
        raise click.ClickException(str(exc)) from None
    celery = shutil.which("celery", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if celery is None:
        raise click.ClickException("the celery command is not installed")
    env = {**os.environ, "FLOWER_BASIC_AUTH": ",".join(entries)}
    os.execve(celery, [celery, "-A", "workers.worker", "flower", f"--address={settings.flower_address}",
                       f"--port={port}"], env)
