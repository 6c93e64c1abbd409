"""The connect flow's routes (browser-facing pages and the site's connection read).

    GET /connect/<provider>.html?site=<public_key>&callback_uri=<url>[&state=...]
        -> 302 to the provider's authorization page (sets the flow cookie)
    GET /connect/<provider>/callback?code=...&state=...
        -> 302 to callback_uri?connection_token=...[&state=<site state>]
           (denied at the provider: callback_uri?error=access_denied[&state=...])
    GET /connections/<connection_token>.json   (site Basic auth; readable once)
        -> {"response": {..., "result": {"data": {"connection": {...},
                                                  "user": {"identity": {...}}}}}}

Anything wrong in the browser part ends on a plain HTML page that says what happened;
the browser is never sent to a callback URL the site has not registered.
"""

from __future__ import annotations

import email.utils
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, current_app, redirect, render_template, request
from sqlalchemy import select

from app.api.auth import current_site
from app.api.envelope import success
from app.api.errors import ApiError
from app.connect import state as flowstate
from app.connect.flows import flow_for
from app.connect.services import save_identity
from app.models import Site
from app.providers.errors import ProviderError

bp = Blueprint("connect", __name__, template_folder="templates")


def _page(exc: flowstate.FlowRefused):
    html = render_template("connect/error.html", title=exc.title, info=exc.info, reason=exc.reason,
                           status=exc.status)
    return html, exc.status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redirect_uri(provider: str) -> str:
    settings = current_app.extensions["pushwire"].settings
    base = settings.connect_base_url
    if not base:
        # Never derive the OAuth redirect from the Host header (anyone can send one),
        # except on the embedded default's own loopback address.
        if not _embedded_loopback(settings):
            raise flowstate.FlowRefused(503, "Connect not configured", "This installation has not set "
                                        "PUSHWIRE_CONNECT_BASE_URL (its public address), which the connect "
                                        "flow requires; ask its administrator.", "connect_base_url_missing")
        base = request.host_url
    return f"{base.rstrip('/')}/connect/{provider}/callback"


def _embedded_loopback(settings) -> bool:
    """The embedded default (SQLite) reached on a loopback Host: `make run` on a laptop."""
    host = (request.host or "").rsplit(":", 1)[0].strip("[]").lower()
    return (settings.resolved_database_url().startswith("sqlite")
            and host in ("127.0.0.1", "localhost", "::1"))


def _flow_or_refuse(provider: str):
    flow = flow_for(provider, current_app.extensions["pushwire"].settings)
    if flow is None:
        raise flowstate.FlowRefused(404, "Unknown provider", f"Pushwire cannot connect {provider!r} accounts; "
                                    "use twitter, facebook, linkedin, pinterest or youtube.", "unknown_provider")
    if not flow.configured:
        raise flowstate.FlowRefused(503, "Provider not configured", f"This installation has no {flow.label} app "
                                    f"credentials (PUSHWIRE_{provider.upper()}_CLIENT_ID and _CLIENT_SECRET); "
                                    "ask its administrator.", "provider_not_configured")
    return flow


@bp.get("/connect/<provider>.html")
def start(provider: str):
    """Check the site and its callback URL, record the flow, send the browser to the provider."""
    rt = current_app.extensions["pushwire"]
    args = request.args
    try:
        flow = _flow_or_refuse(provider)
        callback_uri, site_state = args.get("callback_uri", ""), args.get("state")
        cap = rt.settings.connect_state_max
        if site_state is not None and len(site_state) > cap:
            raise flowstate.FlowRefused(400, "State too long", f"The site's state parameter is longer than {cap} "
                                        "characters.", "state_too_long")
        flowstate.check_start_rate(rt, request.remote_addr or "unknown", args.get("site", ""))
        nonce = flowstate.read_nonce(rt.settings, request.cookies.get(flowstate.COOKIE)) or flowstate.new_nonce()
        with rt.db.session() as session:
            site = session.scalar(select(Site).where(Site.public_key == args.get("site", "")))
            if site is None:
                raise flowstate.FlowRefused(400, "Unknown site", "The site parameter is not the public key of "
                                            "a site of this Pushwire installation.", "unknown_site")
            if not callback_uri or not flowstate.callback_registered(session, site.id, callback_uri):
                raise flowstate.FlowRefused(400, "Callback URL not registered", "The callback_uri is not one "
                                            "of this site's registered callback URLs, so you were not sent "
                                            "anywhere. The site's administrator can register it with "
                                            "'pushwire site callback add'.", "callback_uri_not_registered")
            redirect_uri = _redirect_uri(provider)
            state, verifier = flowstate.start_flow(session, rt, site_id=site.id, provider=provider,
                                                   callback_uri=callback_uri, site_state=site_state,
                                                   nonce=nonce, pkce=flow.pkce)
    except flowstate.FlowRefused as exc:
        return _page(exc)
    resp = redirect(flow.authorize_url(redirect_uri, state, verifier), 302)
    resp.set_cookie(flowstate.COOKIE, flowstate.sign_nonce(rt.settings, nonce), max_age=int(rt.settings.connect_flow_ttl),
                    path="/connect/", httponly=True, samesite="Lax",
                    secure=redirect_uri.startswith("https://"))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/connect/<provider>/callback")
def callback(provider: str):
    """The provider's redirect: verify state and browser, exchange, save, hand back."""
    rt = current_app.extensions["pushwire"]
    try:
        flow = _flow_or_refuse(provider)
        nonce = flowstate.read_nonce(rt.settings, request.cookies.get(flowstate.COOKIE))
        with rt.db.session() as session:
            row = flowstate.claim_flow(session, state=request.args.get("state"), provider=provider, nonce=nonce)
            site_id, callback_uri, site_state = row.site_id, row.callback_uri, row.site_state
            verifier = rt.cipher.decrypt(row.code_verifier_enc)
        if request.args.get("error") or not request.args.get("code"):
            return _back(callback_uri, {"error": request.args.get("error") or "access_denied",
                                        "error_description": f"The user did not authorize the {flow.label} "
                                                             "connection.", "state": site_state})
        grant = flow.exchange(request.args["code"], _redirect_uri(provider), verifier)
        account = flow.account(grant.access_token)
        with rt.db.session() as session:
            identity = save_identity(session, rt, site_id=site_id, provider=provider, grant=grant, account=account)
            token = flowstate.issue_connection(session, rt, site_id, identity.id)
    except flowstate.FlowRefused as exc:
        return _page(exc)
    except ProviderError as exc:
        return _page(flowstate.FlowRefused(502, f"{flow.label} connection failed", exc.info, exc.reason))
    return _back(callback_uri, {"connection_token": token, "state": site_state})


def _back(callback_uri: str, params: dict):
    resp = redirect(_with_query(callback_uri, params), 302)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/connections/<token>.json")
def read_connection(token: str):
    """The connection and its identity, once; a second read is 410."""
    rt = current_app.extensions["pushwire"]
    with rt.db.session() as session:
        site = current_site(session)
        try:
            row = flowstate.redeem_connection(session, site.id, token)
        except flowstate.FlowRefused as exc:
            raise ApiError(exc.status, exc.info, exc.reason) from None
        identity = row.identity
        return success({
            "connection": {"connection_token": row.token, "status": row.status,
                           "date": email.utils.format_datetime(row.created_at)},
            "user": {"identity": {"identity_token": identity.token, "provider": identity.provider,
                                  "provider_user_id": identity.provider_user_id,
                                  "profile": identity.profile or {}}}})
