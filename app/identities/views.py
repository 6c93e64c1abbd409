"""Identities: import, list, read, delete, synchronize.

Example::

    POST /identities.json
    {"request": {"identity": {"provider": "twitter", "access_token": "...",
      "refresh_token": "...", "expires_in": 7200, "provider_user_id": "42",
      "profile": {"name": "Ada"}}}}
    -> 201 {"response": {..., "result": {"data": {"identity": {"identity_token": "...", ...}}}}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt

from flask import Blueprint, current_app, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from app.api.auth import current_site
from app.api.envelope import success
from app.api.errors import ApiError, bad_request, not_found
from app.api.paging import paging
from app.identities.schemas import IdentityImport, Synchronize
from app.identities.tokens import access_token, token_holder, with_tokens
from app.models import Identity, utcnow
from app.providers.errors import ProviderError
from app.status.render import iso

if TYPE_CHECKING:
    from app.runtime import Runtime

bp = Blueprint("identities", __name__)


def render(identity: Identity) -> dict:
    """The identity as clients see it: never tokens."""
    return {
        "identity_token": identity.token,
        "provider": identity.provider,
        "provider_user_id": identity.provider_user_id,
        "profile": identity.profile or {},
        "token_expires_at": iso(identity.expires_at),
        "has_refresh_token": identity.refresh_token_enc is not None,
        "date_creation": iso(identity.created_at),
        "date_last_update": iso(identity.updated_at),
    }


def _node(model: type[BaseModel], name: str, required: bool = True):
    body = request.get_json(silent=True, force=True) if request.data else None
    if body is None and not required:
        return model()
    if not isinstance(body, dict) or not isinstance(body.get("request"), dict) \
            or not isinstance(body["request"].get(name), dict):
        raise bad_request(f'Send JSON of the form {{"request": {{"{name}": {{...}}}}}}.', "invalid_body")
    try:
        return model.model_validate(body["request"][name])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("request", name, *first["loc"]))
        raise bad_request(f"{where}: {first['msg']}.", "invalid_field") from None


def _own(session, site, token: str) -> Identity:
    identity = session.scalar(select(Identity).where(Identity.token == token, Identity.site_id == site.id))
    if identity is None:
        raise not_found(f"No identity {token!r} belongs to this site.", "unknown_identity")
    return identity


@bp.post("/identities.json")
def import_identity():
    """Import tokens the site already holds; re-importing the same account updates it."""
    rt = current_app.extensions["pushwire"]
    data = _node(IdentityImport, "identity")
    with rt.db.session() as session:
        site = current_site(session)
        identity = session.scalar(select(Identity).where(
            Identity.site_id == site.id, Identity.provider == data.provider,
            Identity.provider_user_id == data.provider_user_id))
        created = identity is None
        if created:
            identity = Identity(site_id=site.id, provider=data.provider, provider_user_id=data.provider_user_id)
            session.add(identity)
        identity.access_token_enc = rt.cipher.encrypt(data.access_token)
        if data.refresh_token or created:
            identity.refresh_token_enc = rt.cipher.encrypt(data.refresh_token)
        identity.expires_at = utcnow() + dt.timedelta(seconds=data.expires_in) if data.expires_in else None
        identity.profile = data.profile.model_dump(exclude_none=True)
        identity.updated_at = utcnow()
        session.flush()
        return success({"identity": render(identity)}, code=201 if created else 200)


@bp.get("/identities.json")
def list_identities():
    rt = current_app.extensions["pushwire"]
    page, per_page = paging()
    with rt.db.session() as session:
        site = current_site(session)
        query = select(Identity).where(Identity.site_id == site.id)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(Identity.id).offset((page - 1) * per_page).limit(per_page)).all()
        return success({"identities": {
            "pagination": {"current_page": page, "per_page": per_page, "total_entries": total},
            "entries": [render(i) for i in rows]}})


@bp.get("/identities/<token>.json")
def show_identity(token: str):
    rt = current_app.extensions["pushwire"]
    with rt.db.session() as session:
        return success({"identity": render(_own(session, current_site(session), token))})


@bp.delete("/identities/<token>.json")
def delete_identity(token: str):
    """Delete; requires ``?confirm_deletion=true`` so a stray DELETE cannot remove an account."""
    rt = current_app.extensions["pushwire"]
    with rt.db.session() as session:
        identity = _own(session, current_site(session), token)
        if request.args.get("confirm_deletion") != "true":
            raise bad_request("Add ?confirm_deletion=true to delete this identity.", "confirmation_required")
        session.delete(identity)
        return success({"identity": {"identity_token": token, "deleted": True}})


@bp.put("/identities/<token>/synchronize.json")
def synchronize(token: str):
    """Refresh the access token if expired (or forced) through the provider's refresh grant,
    and (``update_user_data``, default true) the profile from the provider."""
    rt = current_app.extensions["pushwire"]
    options = _node(Synchronize, "synchronize", required=False)
    with rt.db.session() as session:
        identity = _own(session, current_site(session), token)
        identity_id = identity.id
    try:
        token_now = access_token(rt, identity_id, force_refresh=options.force_token_update)
        if options.update_user_data:
            _update_profile(rt, identity_id, identity.provider, token_holder(rt, identity_id, token_now))
    except ProviderError as exc:
        raise ApiError(exc.status if exc.status < 500 else 502, exc.info, exc.reason) from None
    with rt.db.session() as session:
        return success({"identity": render(session.get(Identity, identity_id))})


def _update_profile(rt: Runtime, identity_id: int, provider: str, tokens) -> None:
    """Read the account's current profile at the provider and merge it in (a refused
    token is refreshed and the read sent again, as every provider call does)."""
    from app.connect.flows import flow_for

    account = with_tokens(tokens, flow_for(provider, rt.settings).account)
    with rt.db.session() as session:
        identity = session.get(Identity, identity_id)
        identity.profile = {**(identity.profile or {}), **account.profile}
        identity.updated_at = utcnow()
