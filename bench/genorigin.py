"""A loopback origin that generates sample videos on the fly (constant memory).

``GeneratedOrigin().url_for(size, seed)`` returns a URL whose body is a real
MP4 clip padded with pseudo-random bytes, ``size`` bytes long, produced one
1 MiB block at a time: a 2 GiB video costs the benchmark process 1 MiB.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from sandbox import samples
from sandbox.common import serve

BLOCK = 1024 * 1024


def generate(size: int, seed: int = 0, block: int = BLOCK):
    """Yield ``size`` bytes of sample video (a real clip padded with a ``free``
    box, see sandbox.samples) in pieces of about ``block``."""
    return samples.generate(size, seed, block)


class GeneratedOrigin:
    """Serves ``/gen/<size>/<seed>.mp4``; stop() when done."""

    def __init__(self):
        self.handle = serve(self.app)
        self.url = self.handle.url

    def url_for(self, size: int, seed: int = 0) -> str:
        return f"{self.url}/gen/{size}/{seed}.mp4"

    def app(self, environ, start_response):
        parts = Request(environ).path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "gen" or not parts[1].isdigit():
            return Response("not found", status=404)(environ, start_response)
        size, seed = int(parts[1]), parts[2].split(".")[0]
        resp = Response(generate(size, int(seed) if seed.isdigit() else 0),
                        headers={"Content-Length": str(size)}, content_type="video/mp4")
        return resp(environ, start_response)

    def stop(self) -> None:
        self.handle.stop()
