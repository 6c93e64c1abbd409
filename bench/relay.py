"""The baseline of ``bench.pipeline``: relay a video origin -> a provider fake with no staging.

``python -m bench.relay PROVIDER ORIGIN_URL API_URL TOKEN [TARGET] [CHUNK]`` streams
the origin's body straight into the provider's upload protocol, with the
adapter's chunk size, and prints the seconds from the first request to the
upload's last answer (processing is not waited for: the fakes process at once):

* youtube: a resumable session, one PUT per ``CHUNK`` (8 MiB);
* facebook: ``upload_phase`` start / transfer (the windows the server picks) /
  finish on ``/{TARGET}/videos`` (TARGET: the Page id, TOKEN: its Page token);
* twitter: initialize / append per ``CHUNK`` (4 MiB) / finalize;
* pinterest: register a media, then one streamed multipart POST to its bucket.

It runs in its own process, as the worker does, so it does not share a GIL with
the fakes.
"""

from __future__ import annotations

import json
import sys
import time

import requests

MIB = 1024 * 1024
CHUNKS = {"youtube": 8 * MIB, "facebook": 0, "twitter": 4 * MIB, "pinterest": MIB}
FACEBOOK_VERSION = "v27.0"  # the adapter's default


class Source:
    """The origin's body, handed out in blocks of any size (each a fresh bytes)."""

    def __init__(self, http: requests.Session, url: str) -> None:
        self.resp = http.get(url, stream=True, timeout=60)
        self.resp.raise_for_status()
        self.total = int(self.resp.headers["Content-Length"])
        self._pieces = self.resp.iter_content(MIB)
        self._buf = bytearray()

    def take(self, n: int) -> bytes:
        while len(self._buf) < n:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buf += piece
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def close(self) -> None:
        self.resp.close()


def relay(provider: str, origin_url: str, api_url: str, token: str, target: str = "", chunk: int = 0) -> float:
    """Copy the origin's bytes into a new upload at the fake; returns seconds."""
    started = time.perf_counter()
    http = requests.Session()
    src = Source(http, origin_url)
    try:
        sent = RELAYS[provider](http, src, api_url.rstrip("/"), token, target, chunk or CHUNKS[provider])
    finally:
        src.close()
    assert sent == src.total, (sent, src.total)
    return time.perf_counter() - started


def _youtube(http, src: Source, api: str, token: str, target: str, chunk: int) -> int:
    auth = {"Authorization": f"Bearer {token}"}
    resp = http.post(f"{api}/upload/youtube/v3/videos", params={"uploadType": "resumable", "part": "snippet,status"},
                     data=json.dumps({"snippet": {"title": "relay"}, "status": {"privacyStatus": "private"}}),
                     headers={**auth, "Content-Type": "application/json", "X-Upload-Content-Length": str(src.total),
                              "X-Upload-Content-Type": "video/mp4"}, timeout=60)
    resp.raise_for_status()
    session_url, offset = resp.headers["Location"], 0
    while offset < src.total:
        data = src.take(chunk)
        headers = {**auth, "Content-Type": "video/mp4",
                   "Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{src.total}"}
        put = http.put(session_url, data=data, headers=headers, timeout=120, allow_redirects=False)
        _expect(put, (200, 201, 308))
        offset += len(data)
    return offset


def _facebook(http, src: Source, api: str, token: str, page: str, chunk: int) -> int:
    url, auth = f"{api}/{FACEBOOK_VERSION}/{page}/videos", {"Authorization": f"Bearer {token}"}
    resp = http.post(url, headers=auth, data={"upload_phase": "start", "file_size": str(src.total)}, timeout=60)
    _expect(resp, (200,))
    body = resp.json()
    session, sent = body["upload_session_id"], 0
    start, end = int(body["start_offset"]), int(body["end_offset"])
    while start < end:
        data = src.take(end - start)
        resp = http.post(url, headers=auth, timeout=120,
                         data={"upload_phase": "transfer", "upload_session_id": session, "start_offset": str(start)},
                         files={"video_file_chunk": ("chunk", data, "application/octet-stream")})
        _expect(resp, (200,))
        sent += len(data)
        start, end = int(resp.json()["start_offset"]), int(resp.json()["end_offset"])
    resp = http.post(url, headers=auth, data={"upload_phase": "finish", "upload_session_id": session}, timeout=60)
    _expect(resp, (200,))
    return sent


def _twitter(http, src: Source, api: str, token: str, target: str, chunk: int) -> int:
    auth = {"Authorization": f"Bearer {token}"}
    resp = http.post(f"{api}/2/media/upload/initialize", headers=auth, timeout=60,
                     json={"media_type": "video/mp4", "total_bytes": src.total, "media_category": "tweet_video"})
    _expect(resp, (200, 201, 202))
    media_id, sent, index = resp.json()["data"]["id"], 0, 0
    while sent < src.total:
        data = src.take(chunk)
        resp = http.post(f"{api}/2/media/upload/{media_id}/append", headers=auth, timeout=120,
                         data={"segment_index": str(index)}, files={"media": ("blob", data, "application/octet-stream")})
        _expect(resp, (200, 202, 204))
        sent, index = sent + len(data), index + 1
    _expect(http.post(f"{api}/2/media/upload/{media_id}/finalize", headers=auth, timeout=60), (200, 201, 202))
    return sent


class _Multipart:
    """A multipart/form-data body (fields, then the file from ``src``) with a Content-Length."""

    def __init__(self, fields: dict, src: Source) -> None:
        self.boundary = "relay0123456789abcdef"
        head = "".join(f'--{self.boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                       for k, v in fields.items())
        head += (f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="video"\r\n'
                 "Content-Type: video/mp4\r\n\r\n")
        self.head, self.tail, self.src = head.encode(), f"\r\n--{self.boundary}--\r\n".encode(), src
        self.length, self.sent = len(self.head) + src.total + len(self.tail), 0
        self._blocks, self._block, self._pos = self._generate(), b"", 0

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (a block at a time); b"" at the end."""
        if self._pos >= len(self._block):
            self._block, self._pos = next(self._blocks, b""), 0
        size = len(self._block) - self._pos if size < 0 else size
        out = self._block[self._pos:self._pos + size]
        self._pos += len(out)
        return out

    def _generate(self):
        yield self.head
        while self.sent < self.src.total:
            data = self.src.take(MIB)
            self.sent += len(data)
            yield data
        yield self.tail


def _pinterest(http, src: Source, api: str, token: str, target: str, chunk: int) -> int:
    resp = http.post(f"{api}/v5/media", headers={"Authorization": f"Bearer {token}"}, json={"media_type": "video"},
                     timeout=60)
    _expect(resp, (200, 201))
    media = resp.json()
    body = _Multipart(media["upload_parameters"], src)
    headers = {"Content-Type": f"multipart/form-data; boundary={body.boundary}", "Content-Length": str(len(body))}
    _expect(http.post(media["upload_url"], data=body, headers=headers, timeout=600), (200, 201, 204))
    return body.sent


def _expect(resp: requests.Response, ok: tuple) -> None:
    if resp.status_code not in ok:
        raise RuntimeError(f"relay: {resp.request.method} {resp.url} answered {resp.status_code}: {resp.text[:300]}")


RELAYS = {"youtube": _youtube, "facebook": _facebook, "twitter": _twitter, "pinterest": _pinterest}


if __name__ == "__main__":
    args = sys.argv[1:]
    print(f"{relay(args[0], args[1], args[2], args[3], *(args[4:5] or ['']), *(int(a) for a in args[5:6])):.3f}")
