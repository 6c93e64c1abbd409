"""The ``pushwire`` admin command.

    pushwire db upgrade                 apply migrations
    pushwire site create NAME           create a site, print its keys as JSON
    pushwire keys reencrypt             re-encrypt stored secrets with the first secret key
"""

from __future__ import annotations

import json
import secrets

import click
from sqlalchemy import select

from app.config import Settings
from app.crypto import SecretKeyError, hash_key, hash_stream_key, new_private_key, new_signing_secret
from app.models import Identity, Site
from app.runtime import Runtime


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Administer a Pushwire installation (settings from PUSHWIRE_* variables)."""
    ctx.obj = Runtime(Settings())
    ctx.call_on_close(ctx.obj.close)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(rt: Runtime) -> None:
    """Apply all migrations."""
    from app.migrate import upgrade

    upgrade(rt.settings)
    click.echo("database is up to date", err=True)


@main.group()
def site() -> None:
    """Sites (tenants)."""


@site.command("create")
@click.argument("name")
@click.pass_obj
def site_create(rt: Runtime, name: str) -> None:
    """Create a site and print public_key, private_key, stream_key and signing_secret.

    The private key, stream key and signing secret are shown once: only hashes of
    the private and stream keys are stored, and the signing secret is stored encrypted.
    """
    private_key, signing_secret = new_private_key(), new_signing_secret()
    with rt.db.session() as session:
        stream_key = secrets.token_urlsafe(24)
        row = Site(name=name, private_key_hash=hash_key(private_key),
                   stream_key=hash_stream_key(stream_key),  # only its hash is stored
                   signing_secret_enc=rt.cipher.encrypt(signing_secret))
        session.add(row)
        session.flush()
        out = {"name": name, "public_key": row.public_key, "private_key": private_key,
               "stream_key": stream_key, "signing_secret": signing_secret}
    click.echo(json.dumps(out, indent=2))


@main.group()
def keys() -> None:
    """Encryption keys."""


@keys.command("reencrypt")
@click.pass_obj
def keys_reencrypt(rt: Runtime) -> None:
    """Re-encrypt every stored token and secret with the first PUSHWIRE_SECRET_KEY."""
    count = 0
    try:
        with rt.db.session() as session:
            for identity in session.scalars(select(Identity)):
                where = f"identity {identity.token}"
                identity.access_token_enc = rt.cipher.rotate(identity.access_token_enc)
                identity.refresh_token_enc = rt.cipher.rotate(identity.refresh_token_enc)
                count += 1
            for row in session.scalars(select(Site)):
                where = f"site {row.public_key}"
                row.signing_secret_enc = rt.cipher.rotate(row.signing_secret_enc)
                count += 1
    except SecretKeyError:
        raise click.ClickException(
            f"{where} cannot be decrypted with any key in PUSHWIRE_SECRET_KEY; nothing was changed. "
            "Keep the old key in the list (after the new one) until this command succeeds.") from None
    click.echo(f"re-encrypted {count} rows", err=True)


from app.cli_client import push, requests_group  # noqa: E402  (API-client commands)
from app.dashboard.cli import dashboard  # noqa: E402

from app.ops.flower import flower  # noqa: E402

for _group in (dashboard, push, requests_group, flower):
    main.add_command(_group)

from app.connect.cli import callback  # noqa: E402  (site callback add|list|remove)

site.add_command(callback)
