"""Reading retained events back from the ``events`` table for ``since`` resumes."""

from __future__ import annotations

from typing import Iterator

from sqlalchemy import select

from app.models import Event
from app.stream.hub import StreamEvent

BATCH = 500


def replay(db, site_id: int, kinds: frozenset[str], since: int, limit: int) -> Iterator[StreamEvent]:
    """Events of ``site_id`` with id > ``since`` and a wanted kind, oldest first, at most ``limit``.

    Reads in batches, each in a short session, so a long replay holds no
    connection while the client is slow to read.
    """
    sent = 0
    while sent < limit:
        with db.session() as session:
            rows = session.execute(
                select(Event.id, Event.site_id, Event.kind, Event.body)
                .where(Event.site_id == site_id, Event.id > since, Event.kind.in_(sorted(kinds)))
                .order_by(Event.id).limit(min(BATCH, limit - sent))
            ).all()
        if not rows:
            return
        for row in rows:
            yield StreamEvent(row.id, row.site_id, row.kind, row.body)
        sent += len(rows)
        since = rows[-1].id
