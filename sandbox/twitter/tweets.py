"""Post rules of the fake X (reference §1.2, §1.6): create, delete, look up.

``create_tweet(fake, user_id, body)``, ``delete_tweet(fake, user_id, tweet_id)`` and
``get_tweet(fake, tweet_id)`` return ``(status, json_body)`` or raise ``XProblem``.
``weighted_length(text)`` is X's character count (URLs 23, wide characters 2).
"""

from __future__ import annotations

from typing import Any

from twitter_text import parse_tweet

from . import problems
from .media import MEDIA_ID_RE
from .problems import invalid_request

MAX_WEIGHTED_LENGTH = 280
#: Longest video a Post may carry, by the poster's subscription (seconds).
VIDEO_SECONDS = {None: 20 * 60, "Basic": 20 * 60, "Premium": 125 * 60, "PremiumPlus": 125 * 60}
TWEET_FIELDS = {
    "text", "media", "reply", "quote_tweet_id", "poll", "reply_settings", "geo",
    "for_super_followers_only", "direct_message_deep_link", "nullcast", "card_uri",
    "community_id", "share_with_followers", "made_with_ai", "paid_partnership",
}
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
MEDIA_INVALID = "Your media IDs are invalid."


def weighted_length(text: str) -> int:
    """X's weighted length by the twitter-text v3 rules (twitter-text-parser, a port
    that passes the official conformance suite): NFC first, code points above U+10FF
    (CJK, emoji) weigh 2, an emoji sequence counts once, every URL (a bare domain
    too) weighs 23."""
    return parse_tweet(text).weightedLength


# --------------------------------------------------------------------------- checks


def _check_text(text: Any, has_media: bool) -> str:
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise invalid_request("text must be a string.", text=text)
    if not text.strip() and not has_media:
        raise invalid_request("text is required unless media is attached.", text=text)
    length = weighted_length(text)
    if length > MAX_WEIGHTED_LENGTH:
        raise invalid_request(
            f"Tweet text is too long: {length} weighted characters, at most {MAX_WEIGHTED_LENGTH}.", text=text
        )
    return text


def _media_ids(media: Any) -> list[str]:
    if media is None:
        return []
    if not isinstance(media, dict) or set(media) - {"media_ids", "tagged_user_ids"}:
        raise invalid_request("media must be an object with media_ids (and optional tagged_user_ids).", media=media)
    ids = media.get("media_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 4:
        raise invalid_request("media.media_ids must hold 1 to 4 ids.", **{"media.media_ids": ids})
    if not all(isinstance(i, str) and MEDIA_ID_RE.match(i) for i in ids) or len(set(ids)) != len(ids):
        raise invalid_request("media.media_ids must be distinct strings of 1-19 digits.", **{"media.media_ids": ids})
    return ids


def _check_media(fake, user_id: str, ids: list[str]) -> None:
    """All ids succeeded, unexpired, usable by the caller; a valid mix (reference §1.3)."""
    now = fake.now()
    items = [fake.media.get(i) for i in ids]
    for media_id, item in zip(ids, items):
        if item is None or not item.usable_in_tweet(user_id, now):
            state = item.state if item else "unknown"
            raise invalid_request(f"{MEDIA_INVALID} ({media_id}: {state})", **{"media.media_ids": media_id})
    for item in items:
        cap = VIDEO_SECONDS.get(fake.users.get(user_id, {}).get("subscription_type"), VIDEO_SECONDS[None])
        if item.kind == "video" and item.duration_secs is not None and item.duration_secs > cap:
            raise problems.forbidden(f"This user is not allowed to post a video longer than {cap // 60} minutes.")
    kinds = [item.kind for item in items]
    if ("gif" in kinds or "video" in kinds) and len(kinds) > 1:
        raise invalid_request(
            f"{MEDIA_INVALID} A post carries 1-4 images, or 1 GIF, or 1 video.", **{"media.media_ids": ",".join(ids)}
        )


def _check_options(fake, body: dict) -> None:
    reply = body.get("reply")
    if reply is not None:
        target = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        if not isinstance(target, str) or not MEDIA_ID_RE.match(target):
            raise invalid_request("reply.in_reply_to_tweet_id must be a tweet id string.", reply=reply)
        if _find(fake, target) is None:
            raise problems.forbidden("You attempted to reply to a Tweet that is deleted or not visible to you.")
    quote = body.get("quote_tweet_id")
    if quote is not None and not (isinstance(quote, str) and MEDIA_ID_RE.match(quote)):
        raise invalid_request("quote_tweet_id must be a tweet id string.", quote_tweet_id=quote)
    geo = body.get("geo")
    if geo is not None and not (isinstance(geo, dict) and isinstance(geo.get("place_id"), str) and set(geo) == {"place_id"}):
        raise invalid_request("geo must be {\"place_id\": \"...\"}.", geo=geo)
    poll = body.get("poll")
    if poll is not None:
        _check_poll(poll, has_media=body.get("media") is not None)


def _check_poll(poll: Any, has_media: bool) -> None:
    options = poll.get("options") if isinstance(poll, dict) else None
    minutes = poll.get("duration_minutes") if isinstance(poll, dict) else None
    if has_media:
        raise invalid_request("A post cannot carry both a poll and media.", poll="")
    if not isinstance(options, list) or not 2 <= len(options) <= 4 or not all(
        isinstance(o, str) and 1 <= len(o) <= 25 for o in options
    ):
        raise invalid_request("poll.options must hold 2-4 strings of 1-25 characters.", poll=options)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 5 <= minutes <= 10080:
        raise invalid_request("poll.duration_minutes must be 5 to 10080.", poll=minutes)


def _find(fake, tweet_id: str) -> dict | None:
    return next((t for t in fake.tweets if t["id"] == tweet_id), None)


# --------------------------------------------------------------------------- operations


def create_tweet(fake, user_id: str, body: Any) -> tuple[int, dict]:
    """POST /2/tweets: validate everything, refuse duplicates, store, answer 201."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.", body="")
    unknown = sorted(set(body) - TWEET_FIELDS)
    if unknown:
        raise invalid_request(f"The following fields are not recognized: {', '.join(unknown)}.", **{k: body[k] for k in unknown})
    media_ids = _media_ids(body.get("media"))
    text = _check_text(body.get("text"), has_media=bool(media_ids))
    with fake.lock:
        _check_options(fake, body)
        _check_media(fake, user_id, media_ids)
        if text and any(t["author_id"] == user_id and t["text"] == text for t in fake.tweets):
            raise problems.forbidden(DUPLICATE)
        tweet = {
            "id": fake.new_id(),
            "text": text,
            "author_id": user_id,
            "media_ids": media_ids,
            "created_at": fake.now(),
            "in_reply_to_tweet_id": (body.get("reply") or {}).get("in_reply_to_tweet_id"),
            "quote_tweet_id": body.get("quote_tweet_id"),
            "geo": body.get("geo"),
            "poll": body.get("poll"),
        }
        fake.tweets.append(tweet)
    return 201, {"data": _public(tweet)}


def _public(tweet: dict) -> dict:
    return {"id": tweet["id"], "text": tweet["text"], "edit_history_tweet_ids": [tweet["id"]]}


def delete_tweet(fake, user_id: str, tweet_id: str) -> tuple[int, dict]:
    """DELETE /2/tweets/:id: author only (403), unknown id 404."""
    if not MEDIA_ID_RE.match(tweet_id):
        raise invalid_request(f"The `id` value [{tweet_id}] does not match ^[0-9]{{1,19}}$.", id=tweet_id)
    with fake.lock:
        tweet = _find(fake, tweet_id)
        if tweet is None:
            raise problems.not_found("tweet", "id", tweet_id)
        if tweet["author_id"] != user_id:
            raise problems.forbidden("You are not allowed to delete this Tweet.")
        fake.tweets.remove(tweet)
        fake.deleted_tweets.append(tweet)
    return 200, {"data": {"deleted": True}}


def get_tweet(fake, tweet_id: str) -> tuple[int, dict]:
    """GET /2/tweets/:id: 200 with data, or not found (``fake.missing_tweet_status``)."""
    if not MEDIA_ID_RE.match(tweet_id):
        raise invalid_request(f"The `id` value [{tweet_id}] does not match ^[0-9]{{1,19}}$.", id=tweet_id)
    with fake.lock:
        tweet = _find(fake, tweet_id)
    if tweet is not None:
        return 200, {"data": _public(tweet)}
    missing = problems.not_found("tweet", "id", tweet_id)
    if fake.missing_tweet_status == 200:
        return 200, {"errors": missing.body["errors"]}
    raise missing
