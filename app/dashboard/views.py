"""The operator dashboard under ``/dashboard`` (HTML for people; the API stays JSON).

    GET  /dashboard                         recent requests; ?provider=&state= filters
    GET  /dashboard/rows                    the table rows alone (polled every 2 s)
    GET  /dashboard/requests/<token>        one request: SVG timeline, stages, callbacks
    GET  /dashboard/requests/<token>/live   its timeline fragment (polled every 2 s)
    GET  /dashboard/requests/<token>.json   its audit as JSON
    GET/POST /dashboard/login               public key + private key form
    GET  /dashboard/login/<magic>           magic link from ``pushwire dashboard link``
    POST /dashboard/logout
"""

from __future__ import annotations

import secrets
from functools import wraps

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from app.dashboard import auth
from app.dashboard.timeline import timeline_svg
from app.identities.schemas import PROVIDERS
from app.models import PushRequest
from app.states import FINAL_STATES
from app.status.render import render_request, render_summary
from app.status.views import STATES

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/dashboard/static")
NONCE_COOKIE = "pushwire_dashboard_login"
RECENT = 100


def _rt():
    return current_app.extensions["pushwire"]


def _secure() -> bool:
    # Behind a TLS-terminating proxy the scheme comes from X-Forwarded-Proto, which
    # create_app trusts only with PUSHWIRE_TRUSTED_PROXIES set (werkzeug's ProxyFix).
    return request.scheme == "https"


# The dashboard is never framed (clickjacking); scripts and everything else come from us.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")


@bp.after_request
def _security_headers(resp):
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"  # a magic link's URL never leaks onwards
    if request.path.startswith("/dashboard") and not request.path.startswith("/dashboard/static"):
        resp.headers["Cache-Control"] = "no-store"
    return resp


def login_required(view):
    """Run the view with ``g.dash_site`` (the logged-in site) or redirect to the login form."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        data = auth.read_session(_rt(), request.cookies.get(auth.COOKIE))
        if data is None:
            return redirect(url_for("dashboard.login", next=request.path))
        with _rt().db.session() as session:
            site = auth.find_site(session, data["site"])
            if site is None or not auth.session_valid(data, site):  # logged out since
                return redirect(url_for("dashboard.login"))
            g.dash_site_id, g.dash_site_name, g.csrf = site.id, site.name, data["csrf"]
        return view(*args, **kwargs)

    return wrapped


def _next_path() -> str:
    target = request.values.get("next") or ""
    # Only our own pages: never an open redirect to another host.
    return target if target.startswith("/dashboard") and "//" not in target else url_for("dashboard.index")


def _logged_in(public_key: str, target: str):
    resp = redirect(target)
    with _rt().db.session() as session:
        cookie = auth.session_cookie(_rt(), auth.find_site(session, public_key))
    resp.set_cookie(auth.COOKIE, cookie, max_age=auth.SESSION_TTL,
                    httponly=True, samesite="Lax", secure=_secure(), path="/dashboard")
    resp.delete_cookie(NONCE_COOKIE, path="/dashboard")
    return resp


@bp.route("/dashboard/login", methods=["GET", "POST"])
def login():
    """The login form; POST checks the key pair and the CSRF token."""
    error = None
    if request.method == "POST":
        if not auth.check_login_csrf(_rt(), request.form.get("csrf"), request.cookies.get(NONCE_COOKIE)):
            error = "The form expired; please try again."
        else:
            with _rt().db.session() as session:
                site = auth.check_keys(session, request.form.get("public_key", ""), request.form.get("private_key", ""))
                public_key = site.public_key if site else None
            if public_key:
                return _logged_in(public_key, _next_path())
            error = "The public key or private key is wrong."
    nonce = secrets.token_urlsafe(16)
    resp = current_app.make_response(render_template(
        "dashboard/login.html", error=error, csrf=auth.login_csrf(_rt(), nonce), next=request.values.get("next", "")))
    resp.set_cookie(NONCE_COOKIE, nonce, max_age=3600, httponly=True, samesite="Lax", secure=_secure(),
                    path="/dashboard")
    if error:
        resp.status_code = 400 if "expired" in error else 401
    return resp


@bp.get("/dashboard/login/<token>")
def magic_login(token: str):
    """Log in with a short-lived, single-use signed link printed by ``pushwire dashboard link``."""
    public_key = auth.use_magic_token(_rt(), token)
    with _rt().db.session() as session:
        known = public_key is not None and auth.find_site(session, public_key) is not None
    if not known:
        return render_template("dashboard/login.html",
                               error="This login link is invalid, has expired or was already used.",
                               csrf="", next=""), 401
    return _logged_in(public_key, _next_path())


@bp.post("/dashboard/logout")
@login_required
def logout():
    _check_csrf()
    with _rt().db.session() as session:
        auth.revoke_sessions(session, g.dash_site_id)  # this cookie, and every copy of it, is refused now
    resp = redirect(url_for("dashboard.login"))
    resp.delete_cookie(auth.COOKIE, path="/dashboard")
    return resp


def _check_csrf() -> None:
    if not secrets.compare_digest(request.form.get("csrf", ""), g.csrf):
        abort(400)


def _filters() -> dict:
    provider = request.args.get("provider", "")
    state = request.args.get("state", "")
    return {"provider": provider if provider in PROVIDERS else "", "state": state if state in STATES else ""}


def _recent(filters: dict) -> list[dict]:
    query = select(PushRequest).where(PushRequest.site_id == g.dash_site_id)
    if filters["provider"]:
        query = query.where(PushRequest.provider == filters["provider"])
    if filters["state"]:
        query = query.where(PushRequest.state == filters["state"])
    with _rt().db.session() as session:
        rows = session.scalars(query.order_by(PushRequest.id.desc()).limit(RECENT)).all()
        return [render_summary(push) for push in rows]


@bp.get("/dashboard")
@login_required
def index():
    """Recent requests of the logged-in site, filterable by provider and state."""
    filters = _filters()
    return render_template("dashboard/index.html", rows=_recent(filters), filters=filters,
                           providers=PROVIDERS, states=STATES, site_name=g.dash_site_name, csrf=g.csrf)


@bp.get("/dashboard/rows")
@login_required
def rows():
    return render_template("dashboard/_rows.html", rows=_recent(_filters()))


def _detail(token: str) -> dict:
    with _rt().db.session() as session:
        push = session.scalar(select(PushRequest).where(PushRequest.token == token,
                                                        PushRequest.site_id == g.dash_site_id))
        if push is None:
            abort(404)
        return render_request(session, push)


@bp.get("/dashboard/requests/<token>")
@login_required
def show(token: str):
    """One request: state, result or error, the SVG timeline and the audit tables."""
    detail = _detail(token)
    return render_template("dashboard/request.html", r=detail, svg=timeline_svg(detail),
                           final=detail["state"] in FINAL_STATES, site_name=g.dash_site_name, csrf=g.csrf)


@bp.get("/dashboard/requests/<token>/live")
@login_required
def live(token: str):
    detail = _detail(token)
    resp = current_app.make_response(render_template("dashboard/_live.html", r=detail, svg=timeline_svg(detail)))
    resp.headers["X-Final"] = "1" if detail["state"] in FINAL_STATES else "0"
    return resp


@bp.get("/dashboard/requests/<token>.json")
@login_required
def show_json(token: str):
    return jsonify(_detail(token))
