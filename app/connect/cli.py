"""``pushwire site callback add|list|remove``: the URLs a site's connect flow may return to.

    pushwire site callback add SITE_PUBLIC_KEY https://example.com/connected
    pushwire site callback list [SITE_PUBLIC_KEY]
    pushwire site callback remove SITE_PUBLIC_KEY URL
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
from urllib.parse import urlsplit

import click
from sqlalchemy import select

from app.models import Site, SiteCallbackUrl

if TYPE_CHECKING:
    from app.runtime import Runtime


@click.group("callback")
def callback() -> None:
    """Callback URLs the connect flow may send users back to (exact match)."""


def _site(session, public_key: str) -> Site:
    site = session.scalar(select(Site).where(Site.public_key == public_key))
    if site is None:
        raise click.ClickException(f"no site has the public key {public_key!r}")
    return site


@callback.command("add")
@click.argument("public_key")
@click.argument("url")
@click.pass_obj
def callback_add(rt: Runtime, public_key: str, url: str) -> None:
    """Register URL (absolute http(s), no fragment) for the site; adding twice is harmless."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise click.ClickException("the URL must be an absolute http(s) URL without a #fragment")
    with rt.db.session() as session:
        site = _site(session, public_key)
        exists = session.scalar(select(SiteCallbackUrl).where(SiteCallbackUrl.site_id == site.id,
                                                              SiteCallbackUrl.url == url))
        if exists is None:
            session.add(SiteCallbackUrl(site_id=site.id, url=url))
    click.echo(json.dumps({"site": public_key, "url": url, "registered": True}))


@callback.command("list")
@click.argument("public_key", required=False)
@click.pass_obj
def callback_list(rt: Runtime, public_key: str | None) -> None:
    """Print the registered callback URLs (of one site, or of all) as JSON lines."""
    with rt.db.session() as session:
        query = select(Site.public_key, Site.name, SiteCallbackUrl.url).join(
            SiteCallbackUrl, SiteCallbackUrl.site_id == Site.id).order_by(Site.id, SiteCallbackUrl.id)
        if public_key:
            query = query.where(Site.id == _site(session, public_key).id)
        for key, name, url in session.execute(query):
            click.echo(json.dumps({"site": key, "name": name, "url": url}))


@callback.command("remove")
@click.argument("public_key")
@click.argument("url")
@click.pass_obj
def callback_remove(rt: Runtime, public_key: str, url: str) -> None:
    """Unregister URL; flows already started with it still finish."""
    with rt.db.session() as session:
        site = _site(session, public_key)
        row = session.scalar(select(SiteCallbackUrl).where(SiteCallbackUrl.site_id == site.id,
                                                           SiteCallbackUrl.url == url))
        if row is None:
            raise click.ClickException("that URL is not registered for this site")
        session.delete(row)
    click.echo(json.dumps({"site": public_key, "url": url, "registered": False}))
