"""Sandbox helpers for the demo: a sample-video origin and a callback inbox.

``GET /sample.mp4`` serves a generated MP4-signed file (nothing is downloaded),
``GET /sample.png`` a small PNG; ``POST /inbox`` records and prints callbacks,
``GET /inbox`` lists them; ``GET /connected`` is where the connect flow lands.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading

from werkzeug.wrappers import Request, Response

MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41\x00\x00\x00\x08free"


# A valid 1x1 PNG (signature, IHDR, IDAT, IEND).
SAMPLE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f2a7a40000000049454e44ae426082"
)


def sample_video(size: int = 3 * 1024 * 1024) -> bytes:
    """A deterministic file that passes the MP4 container check."""
    block = hashlib.sha256(b"pushwire-sample").digest() * 4096
    body = bytearray(MP4_HEAD)
    while len(body) < size:
        body += block
    return bytes(body[:size])


class MediaApp:
    def __init__(self, echo: bool = True):
        self.video = sample_video()
        self.inbox: list[dict] = []
        self.lock = threading.Lock()
        self.echo = echo

    def __call__(self, environ, start_response):
        req = Request(environ)
        if req.path == "/sample.mp4":
            resp = Response(self.video, content_type="video/mp4")
        elif req.path == "/sample.png":
            resp = Response(SAMPLE_PNG, content_type="image/png")
        elif req.path == "/connected":
            args = dict(req.args)
            if self.echo:
                print(f"\n[sandbox site] connect flow returned: {args}", file=sys.stderr)
            resp = Response(json.dumps({"connected": args}, indent=2), content_type="application/json")
        elif req.path == "/inbox" and req.method == "POST":
            entry = {"headers": {k: v for k, v in req.headers.items() if k.lower().startswith("webhook-")},
                     "body": req.get_data(as_text=True)}
            with self.lock:
                self.inbox.append(entry)
            if self.echo:
                print("\n[sandbox inbox] callback received:\n" + _pretty(entry["body"]), file=sys.stderr)
            resp = Response(status=204)
        elif req.path == "/inbox":
            with self.lock:
                resp = Response(json.dumps(self.inbox, indent=2), content_type="application/json")
        else:
            resp = Response("not found", status=404)
        return resp(environ, start_response)


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body
