"""The fake Google's authorization side: consent page, code redemption, ``channels.list?mine=true``.

``install(app, fake)`` mounts ``/o/oauth2/v2/auth`` (accounts.google.com) and keeps
a ``Consent`` as ``fake.consent``. As Google does, a refresh token comes only with
``access_type=offline``. ``POST /token`` hands ``grant_type=authorization_code`` to
``exchange``. Approving creates the account with a channel, like ``add_user``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from ..consent import ConsentError, install_consent
from . import errors
from .calls import READ_SCOPES, api_call, json_response, parts
from .state import rfc3339

bp = Blueprint("youtube_oauth", __name__)


def install(app, fake) -> None:
    install_consent(app, fake, bp, title="Sign in with Google")


@bp.route("/o/oauth2/v2/auth", methods=["GET", "POST"])
def authorize():
    return current_app.extensions["fake"].consent.authorize()


def exchange(fake, form):
    """``code&redirect_uri&client_id&client_secret`` (already checked) -> tokens."""
    try:
        grant = fake.consent.redeem(form.get("code"), client_id=form.get("client_id"),
                                    redirect_uri=form.get("redirect_uri"))
    except ConsentError as exc:
        return errors.oauth_error(400, exc.error, exc.description)
    offline = grant.params.get("access_type") == "offline" and not fake.consent.withhold_refresh
    with fake.lock:
        tokens = fake._issue(grant.user_id, grant.scope, fake.users[grant.user_id]["expires_in"], refresh=offline)
    return json_response(200, tokens)


@bp.get("/youtube/v3/channels")
def list_channels():
    """``channels.list`` with ``mine=true`` (the only filter emulated)."""

    def work(user, fault):
        wanted = parts({"id", "snippet", "statistics", "contentDetails"})
        if request.args.get("mine") != "true":
            raise errors.bad_request("missingRequiredParameter", "No filter selected. Expected: mine=true")
        state = current_app.extensions["fake"]
        with state.lock:
            channel = dict(state.channels[user["channel_id"]])
            uploads = sum(1 for v in state.videos.values() if v.channel_id == channel["id"])
        item = {"kind": "youtube#channel", "id": channel["id"]}
        if "snippet" in wanted:
            image = f"https://yt3.ggpht.com/{channel['id']}=s88"
            item["snippet"] = {"title": channel["title"], "description": f"{channel['title']}'s sandbox channel",
                               "publishedAt": rfc3339(state.now() - 86400), "country": "FR",
                               "thumbnails": {"default": {"url": image, "width": 88, "height": 88}}}
        if "statistics" in wanted:
            item["statistics"] = {"viewCount": "0", "subscriberCount": "17", "hiddenSubscriberCount": False,
                                  "videoCount": str(uploads)}
        return json_response(200, {"kind": "youtube#channelListResponse", "items": [item],
                                   "pageInfo": {"totalResults": 1, "resultsPerPage": 5}})

    return api_call("channels.list", READ_SCOPES, work)
