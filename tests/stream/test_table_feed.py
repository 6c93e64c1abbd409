"""The embedded default (no Redis): one table tailer per process feeds the hub."""

from __future__ import annotations

import pytest

from app.events import emit_event
from app.stream.feeds import TableFeed
from app.stream.hub import REPLACED, Hub

pytestmark = pytest.mark.timeout(30)


def test_table_feed_delivers_committed_events_and_replaces_in_process(stream_rt, new_site):
    site_id, _ = new_site()
    with stream_rt.db.session() as session:
        old = emit_event(session, site_id, "upload", {"video": {"guid": "before"}}).id
    hub = Hub(TableFeed(stream_rt.db, interval=0.05), queue_size=10)
    try:
        conn = hub.connect(site_id, frozenset({"upload", "comment"}))
        with stream_rt.db.session() as session:
            ids = [emit_event(session, site_id, kind, {kind: {"guid": kind}}).id
                   for kind in ("upload", "delete", "comment")]
        got = [conn.next(timeout=5) for _ in range(2)]
        assert [e.id for e in got] == [ids[0], ids[2]] and old not in [e.id for e in got]
        assert got[0].line("json").endswith(b"\r\n")
        assert conn.next(timeout=0.3) is None
        newer = hub.connect(site_id, frozenset({"upload"}))
        assert conn.reason == REPLACED and newer.reason is None
    finally:
        hub.stop()
