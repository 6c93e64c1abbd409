"""Secrets at rest: rotation of the encryption key, hashed site keys."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.cli import main
from app.crypto import SecretKeyError, TokenCipher, key_matches
from app.models import Identity, Site
from app.migrate import upgrade
from app.runtime import Runtime
from tests.support.services import create_database


@pytest.fixture()
def own_db(settings):
    """A database of its own: other tests' rows are encrypted with other keys."""
    url, drop = create_database()
    isolated = settings.model_copy(update={"database_url": url})
    upgrade(isolated)
    yield isolated
    drop()


def test_key_rotation_old_key_decrypts_then_reencrypt_moves_everything(own_db, monkeypatch):
    settings = own_db
    monkeypatch.setenv("PUSHWIRE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PUSHWIRE_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    monkeypatch.setenv("PUSHWIRE_SECRET_KEY", "old-key")
    created = runner.invoke(main, ["site", "create", "rotating"])
    assert created.exit_code == 0, created.output
    rt_old = Runtime(settings.model_copy(update={"secret_key": "old-key"}))
    with rt_old.db.session() as session:
        site = session.scalar(select(Site).where(Site.name == "rotating"))
        session.add(Identity(site_id=site.id, provider="twitter", provider_user_id="r1",
                             access_token_enc=rt_old.cipher.encrypt("plain-access"),
                             refresh_token_enc=rt_old.cipher.encrypt("plain-refresh")))

    both = Runtime(settings.model_copy(update={"secret_key": "new-key,old-key"}))
    with both.db.session() as session:
        row = session.scalar(select(Identity).where(Identity.provider_user_id == "r1"))
        assert both.cipher.decrypt(row.access_token_enc) == "plain-access"  # old key still decrypts

    monkeypatch.setenv("PUSHWIRE_SECRET_KEY", "new-key,old-key")
    result = runner.invoke(main, ["keys", "reencrypt"])
    assert result.exit_code == 0, result.output

    new_only = Runtime(settings.model_copy(update={"secret_key": "new-key"}))
    with new_only.db.session() as session:
        row = session.scalar(select(Identity).where(Identity.provider_user_id == "r1"))
        assert new_only.cipher.decrypt(row.refresh_token_enc) == "plain-refresh"
        site = session.scalar(select(Site).where(Site.name == "rotating"))
        assert new_only.cipher.decrypt(site.signing_secret_enc).startswith("whsec_")
    with pytest.raises(SecretKeyError):
        TokenCipher("old-key").decrypt(row.access_token_enc)
    for rt in (rt_old, both, new_only):
        rt.db.engine.dispose()


def test_site_private_key_is_stored_only_as_a_hash(settings, monkeypatch):
    monkeypatch.setenv("PUSHWIRE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PUSHWIRE_SECRET_KEY", "k")
    import json

    out = json.loads(CliRunner().invoke(main, ["site", "create", "hashed"]).output)
    rt = Runtime(settings)
    with rt.db.session() as session:
        site = session.scalar(select(Site).where(Site.public_key == out["public_key"]))
        assert out["private_key"] not in site.private_key_hash
        assert key_matches(out["private_key"], site.private_key_hash)
        assert not key_matches(out["private_key"] + "x", site.private_key_hash)
        assert out["signing_secret"] not in site.signing_secret_enc
    rt.db.engine.dispose()
