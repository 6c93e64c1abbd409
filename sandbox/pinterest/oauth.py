"""The fake Pinterest's authorization side: consent page, code redemption, ``GET /v5/user_account``.

``install(app, fake)`` mounts ``/oauth/`` (www.pinterest.com) and keeps a ``Consent``
as ``fake.consent``; scopes are comma-separated as Pinterest's are. The token
endpoint in ``api.py`` hands ``grant_type=authorization_code`` to ``exchange``.
"""

from __future__ import annotations

from flask import Blueprint, current_app

from ..consent import ConsentError, install_consent
from . import errors
from .state import ACCESS_TTL

bp = Blueprint("pinterest_oauth", __name__)
ACCOUNT_READ = frozenset({"user_accounts:read"})


def install(app, fake) -> None:
    install_consent(app, fake, bp, title="Give access to your Pinterest account", scope_separator=",")


@bp.route("/oauth/", methods=["GET", "POST"])
def authorize():
    return current_app.extensions["fake"].consent.authorize()


def exchange(fake, form) -> dict:
    """``code&redirect_uri`` (client already authenticated with Basic) -> token pair."""
    try:
        grant = fake.consent.redeem(form.get("code"), client_id=fake.client_id,
                                    redirect_uri=form.get("redirect_uri"))
    except ConsentError as exc:
        raise errors.invalid(f"Invalid authorization code: {exc.description}") from None
    scope = " ".join(s for s in grant.scope.split(",") if s)
    with fake.lock:
        tokens = fake._issue(grant.user_id, scope, fake.users[grant.user_id].get("expires_in", ACCESS_TTL))
    if fake.consent.withhold_refresh:
        for key in ("refresh_token", "refresh_token_expires_in", "refresh_token_expires_at"):
            tokens.pop(key, None)
    return tokens


@bp.get("/v5/user_account")
def user_account():
    """The token's account, in Pinterest's shape."""
    from .api import _call

    def work(fake, user_id):
        with fake.lock:
            user = dict(fake.users[user_id])
            boards = sum(1 for b in fake.boards.values() if b["owner"] == user_id)
        name = user["username"]
        return 200, {"account_type": "PINNER", "id": user_id, "username": name,
                     "profile_image": user.get("profile_image", f"https://i.pinimg.com/75x75_RS/{user_id}.jpg"),
                     "website_url": user.get("website_url", ""), "about": user.get("about", f"{name} pins things"),
                     "business_name": None, "board_count": boards, "pin_count": 0,
                     "follower_count": user.get("follower_count", 12), "following_count": 3, "monthly_views": 0}

    return _call("user_account", ACCOUNT_READ, work)
