"""Helpers and routes the fakes' own ``/_sandbox/`` control blueprints share.

(The endpoints every fake has, such as faults, calls, reset, clock and health, live in
``sandbox.common``; this module is for the ones several fakes add themselves.)

Helpers for a view: ``fake()`` (the state of the current app), ``json_body()`` (the
JSON object body, or ``{}``) and ``error(status, message)`` (``{"error"}`` response).

Route installers, each taking the fake's blueprint (prefix ``/_sandbox``):

* ``add_user_route(bp, default_expires_in=..., options=...)``: ``POST /users``.
* ``add_token_routes(bp)``: ``POST /tokens/expire`` and ``POST /tokens/revoke``.
* ``add_media_routes(bp, expire=...)``: ``GET /media/<id>``,
  ``POST /media/<id>/expire`` and ``POST /processing`` (next media outcome knobs).
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, current_app, jsonify, request


def fake() -> Any:
    """The current app's fake state (``app.extensions["fake"]``)."""
    return current_app.extensions["fake"]


def json_body() -> dict:
    """The request's JSON body when it is an object, else ``{}``."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def error(status: int, message: str):
    """``({"error": message}, status)``."""
    return jsonify({"error": message}), status


def add_user_route(bp: Blueprint, *, default_expires_in: int,
                   options: Callable[[dict], dict] = lambda body: {}) -> None:
    """``POST /users {"username", "user_id"?, "expires_in"?, ...}`` -> 201 ``add_user``'s dict.

    ``expires_in`` must be a positive integer (else 400); ``options(body)`` gives the
    other ``add_user`` keywords (e.g. ``scope``).
    """

    def add_user():
        body = json_body()
        expires_in = body.get("expires_in", default_expires_in)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
            return error(400, "expires_in must be a positive integer")
        user = fake().add_user(body.get("user_id"), body.get("username"), expires_in=expires_in, **options(body))
        return jsonify(user), 201

    bp.add_url_rule("/users", "add_user", add_user, methods=["POST"])


def add_token_routes(bp: Blueprint) -> None:
    """``POST /tokens/expire {"access_token"}`` -> ``{"expired": true}`` (``expire_token``) and
    ``POST /tokens/revoke {"refresh_token"}`` -> ``{"revoked": true}`` (``revoke_refresh``);
    404 ``unknown access_token`` / ``unknown refresh_token``."""

    def expire_token():
        try:
            fake().expire_token(json_body().get("access_token"))
        except KeyError:
            return error(404, "unknown access_token")
        return jsonify({"expired": True})

    def revoke_refresh():
        try:
            fake().revoke_refresh(json_body().get("refresh_token"))
        except KeyError:
            return error(404, "unknown refresh_token")
        return jsonify({"revoked": True})

    bp.add_url_rule("/tokens/expire", "expire_token", expire_token, methods=["POST"])
    bp.add_url_rule("/tokens/revoke", "revoke_refresh", revoke_refresh, methods=["POST"])


def add_media_routes(bp: Blueprint, *, expire: str) -> None:
    """The media knobs of fakes whose state has ``media`` and the ``MediaOutcomes``
    knobs (``sandbox.knobs``):

    * ``GET /media/<id>`` -> ``media[id].as_dict()`` (404 unknown media id);
    * ``POST /media/<id>/expire`` -> calls the state method named ``expire`` (also the
      route's endpoint name) -> ``{"expired": true}``;
    * ``POST /processing {"outcome": "failed"|"stuck"|"succeeded", "media_id"?, "message"?}``:
      with ``media_id``, scripts that media; without, the next one fails (``message``
      or the fake's ``default_failure_message``) or sticks.
    """

    def get_media(media_id: str):
        item = fake().media.get(media_id)
        if item is None:
            return error(404, "unknown media id")
        return jsonify(item.as_dict())

    def expire_media(media_id: str):
        try:
            getattr(fake(), expire)(media_id)
        except KeyError:
            return error(404, "unknown media id")
        return jsonify({"expired": True})

    def script_processing():
        body = json_body()
        outcome, media_id, message = body.get("outcome"), body.get("media_id"), body.get("message")
        state = fake()
        try:
            if media_id is not None:
                state.set_media_outcome(media_id, outcome, message)
            elif outcome == "failed":
                state.fail_next_media(message or None)
            elif outcome == "stuck":
                state.stick_next_media()
            else:
                return error(400, "without media_id, outcome must be failed or stuck")
        except KeyError:
            return error(404, "unknown media id")
        except ValueError as exc:
            return error(400, str(exc))
        return jsonify({"scripted": {"outcome": outcome, "media_id": media_id}})

    bp.add_url_rule("/media/<media_id>", "get_media", get_media, methods=["GET"])
    bp.add_url_rule("/media/<media_id>/expire", expire, expire_media, methods=["POST"])
    bp.add_url_rule("/processing", "script_processing", script_processing, methods=["POST"])
