"""``pushwire dashboard link --site PUBLIC_KEY``: print a short-lived login link."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from app.dashboard import auth

if TYPE_CHECKING:
    from app.runtime import Runtime


@click.group("dashboard")
def dashboard() -> None:
    """The operator dashboard."""


@dashboard.command("link")
@click.option("--site", "public_key", required=True, help="The site's public key.")
@click.option("--base-url", envvar="PUSHWIRE_API_URL", default="http://127.0.0.1:8000", show_default=True,
              help="Where the gateway is reachable (env PUSHWIRE_API_URL).")
@click.option("--next", "next_path", default="/dashboard", help="Dashboard page to open after login.")
@click.pass_obj
def link(rt: Runtime, public_key: str, base_url: str, next_path: str) -> None:
    """Print a signed login URL for the site's dashboard, valid once, for five minutes."""
    try:
        token = auth.magic_link_token(rt, public_key)
    except LookupError:
        raise click.ClickException(f"no site has the public key {public_key!r}") from None
    url = f"{base_url.rstrip('/')}/dashboard/login/{token}"
    click.echo(url + (f"?next={next_path}" if next_path != "/dashboard" else ""))
