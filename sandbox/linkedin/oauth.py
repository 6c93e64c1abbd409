"""The fake LinkedIn's 3-legged side: consent page and code redemption (reference §3.1).

``install(app, fake)`` mounts ``/oauth/v2/authorization`` (www.linkedin.com) and
keeps a ``Consent`` as ``fake.consent``. ``POST /oauth/v2/accessToken`` hands
``grant_type=authorization_code`` to ``exchange``: a 60-day access token, plus a
refresh token only for partner apps (as ``add_user`` issues them).
"""

from __future__ import annotations

import secrets

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, redirect, request

from ..consent import ConsentError, install_consent
from . import errors
from .state import ACCESS_TTL, ORGANIZATION_SCOPES, REFRESH_TTL, RefreshToken

bp = Blueprint("linkedin_oauth", __name__)


def install(app, fake) -> None:
    install_consent(app, fake, bp, title="Sign in with LinkedIn", code_ttl=1800)


@bp.route("/oauth/v2/authorization", methods=["GET", "POST"])
def authorize():
    """Organization scopes need the Community Management API product on the app;
    without it LinkedIn sends the browser back with ``unauthorized_scope_error``
    before anyone can consent (what apps asking for them anyway ran into)."""
    fake = current_app.extensions["fake"]
    asked = set(request.values.get("scope", "").split())
    refused = sorted(asked & ORGANIZATION_SCOPES) if not fake.community_management else []
    redirect_uri = request.values.get("redirect_uri", "")
    if refused and urlsplit(redirect_uri).scheme in ("http", "https"):
        back = {"error": "unauthorized_scope_error",
                "error_description": f"Scope \"{refused[0]}\" is not authorized for your application"}
        if request.values.get("state"):
            back["state"] = request.values["state"]
        sep = "&" if urlsplit(redirect_uri).query else "?"
        return redirect(redirect_uri + sep + urlencode(back), 302)
    return fake.consent.authorize()


def exchange(fake, form) -> dict:
    """``code&redirect_uri&client_id&client_secret`` -> access (+ partner refresh) token."""
    if form.get("client_id") != fake.client_id or form.get("client_secret") != fake.client_secret:
        raise errors.oauth_error(401, "invalid_client", "Client authentication failed")
    try:
        grant = fake.consent.redeem(form.get("code"), client_id=form.get("client_id"),
                                    redirect_uri=form.get("redirect_uri"))
    except ConsentError as exc:
        raise errors.oauth_error(400, exc.error, exc.description) from None
    with fake.lock:
        tokens = fake._issue(grant.user_id, grant.scope, ACCESS_TTL)
        if fake.users[grant.user_id].get("partner", fake.partner) and not fake.consent.withhold_refresh:
            refresh = secrets.token_urlsafe(40)
            fake.refresh_tokens[refresh] = RefreshToken(grant.user_id, grant.scope, fake.now() + REFRESH_TTL)
            tokens.update(refresh_token=refresh, refresh_token_expires_in=REFRESH_TTL)
    return tokens
