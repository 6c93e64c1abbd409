"""In-process gateway tests: the real Flask app on PostgreSQL, publishing to Redis."""

from __future__ import annotations

import json
import secrets

import pytest
import redis

from app import create_app
from app.crypto import hash_key, new_private_key, new_signing_secret
from app.models import Identity, Site
from tests.support.services import REDIS_URL

QUEUES = ("staging", "transcode", "upload", "callback", "maintenance")


@pytest.fixture()
def app(settings):
    app = create_app(settings)
    yield app
    app.extensions["pushwire"].db.engine.dispose()


@pytest.fixture()
def broker(settings):
    """The Redis database the gateway publishes to, emptied first."""
    conn = redis.Redis.from_url(f"{REDIS_URL}/15")
    conn.flushdb()
    yield conn
    conn.flushdb()


def queued(conn) -> int:
    return sum(conn.llen(q) for q in QUEUES)


def make_site(app, name: str) -> dict:
    rt = app.extensions["pushwire"]
    private = new_private_key()
    with rt.db.session() as session:
        row = Site(name=name, private_key_hash=hash_key(private), stream_key=secrets.token_urlsafe(16),
                   signing_secret_enc=rt.cipher.encrypt(new_signing_secret()))
        session.add(row)
        session.flush()
        return {"id": row.id, "public_key": row.public_key, "private_key": private}


def make_identity(app, site: dict, provider: str = "twitter") -> str:
    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        row = Identity(site_id=site["id"], provider=provider, provider_user_id=secrets.token_hex(4),
                       access_token_enc=rt.cipher.encrypt("secret-access-token"), profile={"name": "Ada"})
        session.add(row)
        session.flush()
        return row.token


class ApiClient:
    def __init__(self, flask_client, site):
        self.c, self.site = flask_client, site

    def post(self, path, body=None, raw=None, auth=True, **kw):
        headers = kw.pop("headers", {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.c.post(path, data=data, headers=headers, content_type="application/json",
                           auth=(self.site["public_key"], self.site["private_key"]) if auth else None, **kw)

    def get(self, path, **kw):
        return self.c.get(path, auth=(self.site["public_key"], self.site["private_key"]), **kw)

    def delete(self, path, **kw):
        return self.c.delete(path, auth=(self.site["public_key"], self.site["private_key"]), **kw)

    def put(self, path, body=None, **kw):
        return self.c.put(path, data=json.dumps(body) if body is not None else None, content_type="application/json",
                          auth=(self.site["public_key"], self.site["private_key"]), **kw)


@pytest.fixture()
def site_a(app):
    return make_site(app, "site-a")


@pytest.fixture()
def api(app, site_a):
    return ApiClient(app.test_client(), site_a)
