"""The baseline of ``bench.gateway``: a naive Flask endpoint, one INSERT and one Celery publish.

``gunicorn 'bench.naive_app:create_app()'`` with ``BENCH_NAIVE_DB`` (PostgreSQL
URL), ``BENCH_NAIVE_BROKER`` and ``BENCH_NAIVE_PREFIX`` in the environment.
``POST /naive`` stores the JSON body in ``bench_naive`` and publishes a task
(nobody consumes it) to the ``naive`` queue; answers 202 with the row id.
"""

from __future__ import annotations

import json
import os

from celery import Celery
from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

TABLE = "create table if not exists bench_naive (id bigserial primary key, body jsonb not null, created_at timestamptz default now())"


def create_app() -> Flask:
    app = Flask(__name__)
    url = os.environ["BENCH_NAIVE_DB"]
    engine = create_engine("postgresql+psycopg://" + url.split("://", 1)[1], pool_size=10, max_overflow=10)
    prefix = os.environ.get("BENCH_NAIVE_PREFIX", "")
    celery = Celery("naive", broker=os.environ["BENCH_NAIVE_BROKER"])
    celery.conf.broker_transport_options = {"global_keyprefix": prefix} if prefix else {}

    @app.post("/naive")
    def accept():
        body = request.get_json(force=True)
        with engine.begin() as conn:
            row_id = conn.execute(text("insert into bench_naive (body) values (cast(:b as jsonb)) returning id"),
                                  {"b": json.dumps(body)}).scalar_one()
        celery.send_task("naive.noop", args=(row_id,), queue="naive")
        return jsonify({"id": row_id}), 202

    @app.get("/health")
    def health():
        return "ok"

    return app
