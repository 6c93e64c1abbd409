"""``page`` / ``per_page`` query parameters of the list endpoints."""

from __future__ import annotations

from flask import request

from app.api.errors import bad_request

MAX_PAGE = 1_000_000


def paging() -> tuple[int, int]:
    """Validated (page, per_page); 400 for anything else (an absurd page would overflow OFFSET)."""
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 50))
    except ValueError:
        raise bad_request("page and per_page must be whole numbers.", "invalid_paging") from None
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= 500:
        raise bad_request(f"page is between 1 and {MAX_PAGE}; per_page is between 1 and 500.", "invalid_paging")
    return page, per_page
