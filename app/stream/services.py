"""A gateway process's stream machinery: the hub fanning events out to open streams,
the limiter banning addresses that connect too often, and the count of open streams
per key and per address. ``Runtime.stream`` builds
it on the first stream request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass

from app.stream.feeds import open_feed
from app.stream.hub import Hub
from app.stream.limits import OpenStreams, open_limiter

if TYPE_CHECKING:
    from app.runtime import Runtime


@dataclass
class StreamServices:
    hub: Hub
    limiter: object
    open: OpenStreams  # streams open per stream key and per address


def open_stream_services(rt: Runtime) -> StreamServices:
    return StreamServices(hub=Hub(open_feed(rt.settings, rt.db), rt.settings.stream_queue_size),
                          limiter=open_limiter(rt.settings),
                          open=OpenStreams(rt.settings.stream_max_per_key, rt.settings.stream_max_per_ip))
