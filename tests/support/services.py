"""Real backing services for tests: a fresh PostgreSQL database, Redis databases."""

from __future__ import annotations

import os
import uuid

import psycopg

PG_ADMIN = os.environ.get("PUSHWIRE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PUSHWIRE_TEST_REDIS", "redis://127.0.0.1:6379")
RABBIT_URL = os.environ.get("PUSHWIRE_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672//")


def create_database() -> tuple[str, callable]:
    """Create an empty database with a unique name; returns (url, drop)."""
    name = f"pushwire_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop
