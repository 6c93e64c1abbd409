"""The fake Facebook's login side: the Login dialog and the code exchange (reference §2.2).

``install(app, fake)`` mounts ``/<version>/dialog/oauth`` (www.facebook.com) and
keeps a ``Consent`` as ``fake.consent``. ``GET /<version>/oauth/access_token`` with
``code`` (no ``grant_type``) lands in ``exchange``: a short-lived user token (2 h),
which ``fb_exchange_token`` then turns into the 60-day one. Approving creates the
user with one Page it manages, like ``add_user``.
"""

from __future__ import annotations

import secrets

import html

from flask import Blueprint, Response, current_app, request

from ..consent import ConsentError, install_consent
from .errors import GraphError
from .state import Token

bp = Blueprint("fb_oauth", __name__)
SHORT_LIVED = 7200
#: Permissions the dialog knows (Pages publishing, comments, profile). Not among them:
#: ``pages_read_user_engagement``, which never existed (comments need
#: ``pages_read_user_content``), and ``publish_video``, which Page videos do not use.
KNOWN_PERMISSIONS = frozenset({
    "public_profile", "email", "pages_show_list", "pages_manage_posts", "pages_read_engagement",
    "pages_read_user_content", "pages_manage_engagement", "pages_manage_metadata", "business_management",
})


def install(app, fake) -> None:
    install_consent(app, fake, bp, title="Log in with Facebook", name_key="name", scope_separator=",")


@bp.route("/<version>/dialog/oauth", methods=["GET", "POST"])
def dialog(version: str):
    unknown = [s for s in (request.values.get("scope") or "").split(",") if s.strip() and s.strip()
               not in KNOWN_PERMISSIONS]
    if unknown:  # what Facebook's dialog shows for a permission it does not grant
        message = f"Invalid Scopes: {', '.join(unknown)}. This message is only shown to developers."
        return Response(f"<!doctype html><title>Error</title><p id='error' class='error'>{html.escape(message)}</p>",
                        status=400, mimetype="text/html")
    return current_app.extensions["fake"].consent.authorize()


def exchange(fake, args) -> dict:
    """``client_id&redirect_uri&client_secret&code`` -> a short-lived user token."""
    if args.get("client_id") != fake.client_id:
        raise GraphError(101, "Error validating application. Invalid application ID.")
    if args.get("client_secret") != fake.client_secret:
        raise GraphError(1, "Error validating client secret.")
    try:
        grant = fake.consent.redeem(args.get("code"), client_id=args.get("client_id"),
                                    redirect_uri=args.get("redirect_uri"))
    except ConsentError as exc:
        raise GraphError(100, f"Invalid verification code format. {exc.description}", subcode=36007) from None
    with fake.lock:
        token = "EAAB" + secrets.token_urlsafe(40)
        fake.tokens[token] = Token("user", grant.user_id, expires_at=fake.now() + SHORT_LIVED)
    return {"access_token": token, "token_type": "bearer", "expires_in": SHORT_LIVED}
