"""The fake X's authorization side: the consent page, code redemption, ``GET /2/users/me``.

``install(app, fake)`` mounts ``/i/oauth2/authorize`` (x.com) and
``/2/oauth2/authorize`` (the OpenAPI spec's alias), and keeps a ``Consent`` as
``fake.consent``. Codes live 30 s and require PKCE (reference §1.1). The token
endpoint in ``api.py`` hands ``grant_type=authorization_code`` to ``exchange``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from ..consent import ConsentError, install_consent
from . import problems

bp = Blueprint("x_oauth", __name__)
READ_SCOPES = frozenset({"tweet.read", "users.read"})


def install(app, fake) -> None:
    """Attach the consent store to ``fake`` and mount the routes."""
    install_consent(app, fake, bp, title="Authorize app · X", code_ttl=30, pkce_required=True)


@bp.route("/i/oauth2/authorize", methods=["GET", "POST"])
@bp.route("/2/oauth2/authorize", methods=["GET", "POST"])
def authorize():
    return current_app.extensions["fake"].consent.authorize()


def exchange(fake, form) -> dict:
    """``grant_type=authorization_code``: code + redirect_uri + code_verifier -> tokens."""
    client_id = fake.client_id  # the client was authenticated by the token view
    try:
        grant = fake.consent.redeem(form.get("code"), client_id=client_id, redirect_uri=form.get("redirect_uri"),
                                    code_verifier=form.get("code_verifier"))
    except ConsentError as exc:
        raise problems.oauth_error(400, "invalid_request", exc.description) from None
    with fake.lock:
        expires_in = fake.users.get(grant.user_id, {}).get("expires_in", 7200)
        tokens = fake._issue(grant.user_id, grant.scope, expires_in)
    if fake.consent.withhold_refresh:
        tokens.pop("refresh_token", None)
    return tokens


@bp.get("/2/users/me")
def users_me():
    """The authenticated user; ``user.fields`` adds optional fields as X does."""
    from .api import _call

    def work(fake, user_id):
        with fake.lock:
            user = dict(fake.users[user_id])
        name = user["username"]
        full = {"id": user_id, "name": user.get("name", name.title()), "username": name,
                "location": user.get("location", "Sandbox City"),
                "description": user.get("description", f"{name} on the X sandbox"),
                "profile_image_url": user.get("profile_image_url",
                                              f"https://pbs.twimg.com/profile_images/{user_id}/sandbox_normal.jpg"),
                "public_metrics": {"followers_count": user.get("followers_count", 42), "following_count": 7,
                                   "tweet_count": 0, "listed_count": 0},
                "subscription_type": user.get("subscription_type", "None"),
                "verified_type": user.get("verified_type", "none")}
        wanted = {f for f in request.args.get("user.fields", "").split(",") if f}
        return 200, {"data": {k: v for k, v in full.items() if k in ("id", "name", "username") or k in wanted}}

    return _call("me", "lookup", READ_SCOPES, work)
