"""A gateway process's stream machinery: the hub fanning events out to open streams,
and the limiter banning addresses that connect too often. ``Runtime.stream`` builds
it on the first stream request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass

from app.stream.feeds import open_feed
from app.stream.hub import Hub
from app.stream.limits import open_limiter

if TYPE_CHECKING:
    from app.runtime import Runtime


@dataclass
class StreamServices:
    hub: Hub
    limiter: object


def open_stream_services(rt: Runtime) -> StreamServices:
    return StreamServices(hub=Hub(open_feed(rt.settings, rt.db), rt.settings.stream_queue_size),
                          limiter=open_limiter(rt.settings))
