"""The baseline of ``bench.pipeline``: relay a video origin -> fake YouTube with no staging.

``python -m bench.relay ORIGIN_URL API_URL ACCESS_TOKEN [CHUNK]`` streams the
origin's body straight into a resumable upload session (same protocol, same
chunk size as the adapter) and prints the seconds it took. It runs in its own
process, as the worker does, so it does not share a GIL with the fakes.
"""

from __future__ import annotations

import json
import sys
import time

import requests

CHUNK = 8 * 1024 * 1024


def relay(origin_url: str, api_url: str, token: str, chunk: int = CHUNK) -> float:
    """Copy the origin's bytes into a new upload session; returns seconds."""
    started = time.perf_counter()
    http = requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    with http.get(origin_url, stream=True, timeout=60) as src:
        src.raise_for_status()
        total = int(src.headers["Content-Length"])
        resp = http.post(f"{api_url}/upload/youtube/v3/videos", params={"uploadType": "resumable",
                         "part": "snippet,status"}, data=json.dumps({"snippet": {"title": "relay"},
                         "status": {"privacyStatus": "private"}}),
                         headers={**auth, "Content-Type": "application/json", "X-Upload-Content-Length": str(total),
                                  "X-Upload-Content-Type": "video/mp4"}, timeout=60)
        resp.raise_for_status()
        session_url, offset = resp.headers["Location"], 0
        for data in _blocks(src.iter_content(1024 * 1024), chunk):
            headers = {**auth, "Content-Type": "video/mp4",
                       "Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{total}"}
            put = http.put(session_url, data=data, headers=headers, timeout=120, allow_redirects=False)
            if put.status_code not in (200, 201, 308):
                raise RuntimeError(f"relay PUT answered {put.status_code}: {put.text[:200]}")
            offset += len(data)
    assert offset == total, (offset, total)
    return time.perf_counter() - started


def _blocks(pieces, size: int):
    """Regroup an iterator of byte strings into ``size``-byte blocks (the last may be short)."""
    buf = bytearray()
    for piece in pieces:
        buf += piece
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)


if __name__ == "__main__":
    args = sys.argv[1:]
    print(f"{relay(args[0], args[1], args[2], int(args[3]) if len(args) > 3 else CHUNK):.3f}")
