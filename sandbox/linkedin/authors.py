"""Who may act as an author or media owner (reference §3.1, §3.6), and "little text".

``check_author(fake, record, urn)`` raises LinkedInError unless the caller may
post (or own media) as ``urn``: a person URN only for the caller itself with
``w_member_social``; an organization URN only with a posting role on it and
``w_organization_social``. ``visible_text(commentary)`` returns what LinkedIn
would show and whether an unescaped reserved character cut it short.
"""

from __future__ import annotations

import re

from . import errors
from .state import POSTING_ROLES

PERSON = re.compile(r"^urn:li:person:([A-Za-z0-9_-]{1,64})$")
ORGANIZATION = re.compile(r"^urn:li:organization:([0-9]{1,20})$")
#: Characters "little text" reserves (unconfirmed list; reference §3.2).
RESERVED = set("()[]{}<>@|*_~#\\")


def check_author(fake, record, urn) -> str:
    """Return ``urn`` if the caller may act as it; 422 for a malformed URN, else 403."""
    if not isinstance(urn, str):
        raise errors.unprocessable("ERROR :: /author :: field is required and must be a URN string")
    person, org = PERSON.match(urn), ORGANIZATION.match(urn)
    if person:
        if person.group(1) != record.user_id:
            raise errors.forbidden(f"Not enough permissions to act as {urn}: a member may only post as itself")
        _need_scope(record, "w_member_social")
        return urn
    if org:
        role = fake.role(record.user_id, org.group(1))
        if role not in POSTING_ROLES:
            raise errors.forbidden(
                f"Member urn:li:person:{record.user_id} does not have a posting role (ADMINISTRATOR, "
                f"DIRECT_SPONSORED_CONTENT_POSTER, RECRUITING_POSTER) on {urn}")
        _need_scope(record, "w_organization_social")
        return urn
    raise errors.unprocessable(f"ERROR :: /author :: {urn!r} is not a person or organization URN")


def _need_scope(record, scope: str) -> None:
    if scope not in record.scope.split():
        raise errors.forbidden(f"Not enough permissions to access: missing scope {scope}")


URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)
HASHTAG = re.compile(r"#(\w+)")


def _segments(commentary: str):
    """``(is_url, piece)`` runs of the commentary: URLs are taken as written."""
    pos = 0
    for match in URL.finditer(commentary):
        if match.start() > pos:
            yield False, commentary[pos:match.start()]
        yield True, match.group(0)
        pos = match.end()
    if pos < len(commentary):
        yield False, commentary[pos:]


def visible_text(commentary: str) -> tuple[str, bool]:
    """Unescape little text; a reserved character without a backslash ends the text.

    A URL is shown exactly as written (a backslash inside it stays, breaking the
    link), and ``#word`` is a hashtag, not a reserved character.
    """
    out: list[str] = []
    for is_url, piece in _segments(commentary):
        if is_url:
            out.append(piece)
            continue
        i = 0
        while i < len(piece):
            ch = piece[i]
            if ch == "\\" and i + 1 < len(piece) and piece[i + 1] in RESERVED:
                out.append(piece[i + 1])
                i += 2
                continue
            if ch == "#" and HASHTAG.match(piece, i):
                out.append(ch)
                i += 1
                continue
            if ch in RESERVED:
                return "".join(out), True
            out.append(ch)
            i += 1
    return "".join(out), False


def hashtags(commentary: str) -> list[str]:
    """The hashtags LinkedIn links: unescaped ``#word`` outside URLs."""
    found: list[str] = []
    for is_url, piece in _segments(commentary):
        if not is_url:
            found += [m.group(1) for m in HASHTAG.finditer(piece) if m.start() == 0 or piece[m.start() - 1] != "\\"]
    return found


def urls(text: str) -> list[str]:
    """The links in the shown text."""
    return URL.findall(text)
