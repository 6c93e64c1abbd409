"""Run Alembic migrations programmatically (``pushwire db upgrade``, Procfile ``release``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.config import Settings
from app.db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the configured database to ``revision``."""
    engine = make_engine(settings)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def autogenerate(settings: Settings, message: str) -> None:
    """Write a new revision from the model diff (developer tool)."""
    engine = make_engine(settings)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
    engine.dispose()
