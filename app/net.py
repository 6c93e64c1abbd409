"""Safe outbound HTTP for user-supplied URLs (SSRF protection).

Every request to a URL that a user gave us (``video_url``, ``picture``,
``thumbnail_url``, ``callback_url``) must go through this module::

    policy = OutboundPolicy.from_setting(os.environ.get("PUSHWIRE_OUTBOUND_ALLOW", ""))
    check_url(url, policy)                       # validate only (raises UnsafeURLError)
    with safe_get(url, policy=policy, stream=True) as resp:
        for chunk in resp.iter_content(1 << 16):
            ...
    safe_request("POST", callback_url, policy=policy, json=payload)

Transfers with a peer we do not control are also bounded in time: pass a
``Transfer`` (a total deadline, optionally a minimum rate) and the request,
its redirects and the body reads all end by then, however the peer drips::

    transfer = Transfer(total=15.0, reason="callback_timeout")
    with transfer:
        resp = safe_request("POST", url, policy=policy, transfer=transfer, stream=True, ...)
        head = read_at_most(resp, 4096, transfer)

A ``TransferTimeout`` (a ``requests.Timeout``) with ``.reason`` says which
bound was hit.

``check_url`` parses the URL, resolves the host once and refuses internal
addresses. ``safe_request`` connects to exactly the addresses ``check_url``
approved (TLS still verifies the original host name), never uses proxies and
follows redirects itself, checking every hop again.
"""
from __future__ import annotations

import collections
import ipaddress
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar, merge_cookies
from requests.hooks import dispatch_hook
from requests.utils import rewind_body
from urllib3.exceptions import ConnectTimeoutError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Whitespace, control characters and backslashes: parsers disagree about them,
# and a URL a person typed correctly never contains them raw.
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_HOST_RE = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$")
_ALLOW_HOST_RE = re.compile(r"^(\*\.)?" + _HOST_RE.pattern[1:])
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")

# Ranges refused on top of what ipaddress calls non-global, so the result does
# not depend on the Python version's idea of "private".
_BLOCKED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23",
    "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURLError(ValueError):
    """A URL that must not be fetched; raised before any connection is made.

    ``reason`` is a machine code: "bad_scheme", "bad_url", "unresolvable",
    "private_address", "too_many_redirects" or "bad_port". ``str(e)`` is a
    sentence a person can act on.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class OutboundPolicy:
    """What outbound requests may do.

    ``allow`` lists host names (``"localhost"``, ``"*.svc.local"``) and IP
    addresses or CIDRs (``"127.0.0.1"``, ``"10.0.0.0/8"``, ``"::1/128"``) that
    are exempt from the private-address block. Build it from the environment
    with ``OutboundPolicy.from_setting(os.environ["PUSHWIRE_OUTBOUND_ALLOW"])``.
    """

    allow: tuple[str, ...] = ()
    max_redirects: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    _hosts: frozenset = field(init=False, repr=False, compare=False)
    _networks: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        allow = tuple(_split_setting(self.allow) if isinstance(self.allow, str) else self.allow)
        hosts, networks = _parse_allow(allow)
        object.__setattr__(self, "allow", allow)
        object.__setattr__(self, "_hosts", hosts)
        object.__setattr__(self, "_networks", networks)

    @classmethod
    def from_setting(cls, text: str, **kw) -> "OutboundPolicy":
        """Policy from a comma-separated allow list such as PUSHWIRE_OUTBOUND_ALLOW.

        Other fields (``max_redirects=...``) are passed as keywords. Raises
        ValueError naming the entry that is neither a host name nor a CIDR.
        """
        return cls(allow=_split_setting(text or ""), **kw)

    def allows_host(self, host: str) -> bool:
        """True if the (lower-case, dot-less) host name is on the allow list."""
        return host in self._hosts or any(
            h.startswith("*.") and host.endswith(h[1:]) for h in self._hosts)

    def allows_address(self, addr: IPAddress) -> bool:
        """True if the address (or the IPv4 address it maps to) is allowed."""
        candidates = [addr, _mapped_ipv4(addr)] if addr.version == 6 else [addr]
        return any(c is not None and c in net for c in candidates for net in self._networks)


def _split_setting(text: str) -> tuple[str, ...]:
    return tuple(e for e in re.split(r"[,\s]+", text) if e)


def _parse_allow(entries: tuple[str, ...]) -> tuple[frozenset, tuple]:
    hosts, networks = set(), []
    for entry in entries:
        text = entry.strip().lower()
        try:
            networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        host = text[:-1] if text.endswith(".") else text
        if "/" in text or not _ALLOW_HOST_RE.match(host):
            raise ValueError(f"outbound allow list entry {entry!r} is neither a host name nor an IP/CIDR")
        hosts.add(host)
    return frozenset(hosts), tuple(networks)


# --- URL checking -----------------------------------------------------------

def check_url(url: str, policy: OutboundPolicy) -> list[tuple[str, int]]:
    """Validate ``url`` and return the approved ``(ip, port)`` list.

    Accepts http/https only, recognises every textual form of an IP literal,
    resolves names once with ``socket.getaddrinfo`` and refuses the URL if any
    address is internal (loopback, private, link-local, multicast, reserved,
    shared, unspecified, or IPv6 forms embedding such an IPv4 address) unless
    ``policy`` allows the host or the address. Raises UnsafeURLError.
    """
    _scheme, host, port, literal = _check_syntax(url, policy)
    addresses = [literal] if literal is not None else _resolve(host, port)
    if not policy.allows_host(host):
        for addr in addresses:
            _check_address(addr, host, policy)
    return [(str(addr), port) for addr in addresses]


def _check_syntax(url: str, policy: OutboundPolicy) -> tuple[str, str, int, IPAddress | None]:
    """All checks that need no DNS; returns (scheme, host, port, IP literal or None)."""
    scheme, host, port = _parse_target(url)
    literal = _parse_ip_literal(host)
    if literal is not None and not policy.allows_host(host):
        _check_address(literal, host, policy)
    return scheme, host, port, literal


def _parse_target(url: str) -> tuple[str, str, int]:
    """Syntax checks without DNS: returns (scheme, normalised host, port)."""
    if not isinstance(url, str) or _BAD_URL_CHARS.search(url):
        raise UnsafeURLError("bad_url", "The URL contains spaces, control characters or backslashes; "
                                        "percent-encode them or fix the URL.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeURLError("bad_url", f"The URL cannot be parsed ({exc}).") from None
    if parts.scheme not in _DEFAULT_PORTS:
        shown = f"'{parts.scheme}'" if parts.scheme else "missing"
        raise UnsafeURLError("bad_scheme", f"The URL scheme is {shown}; only http:// and https:// URLs "
                                           "can be fetched.")
    if not parts.hostname:
        raise UnsafeURLError("bad_url", "The URL has no host name; use a full URL like "
                                        "https://example.com/file.")
    return parts.scheme, _normalise_host(parts.hostname), _port(parts)


def _port(parts) -> int:
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        port = 0
    if port is None:
        return _DEFAULT_PORTS[parts.scheme]
    if not 1 <= port <= 65535:
        raise UnsafeURLError("bad_port", "The URL's port is not a number between 1 and 65535.")
    return port


def _normalise_host(raw: str) -> str:
    """Lower-case ASCII host without trailing dot; raises for invalid names."""
    encoded = "%" in raw
    host = _idna(unquote(raw) if encoded else raw)
    host = host[:-1] if host.endswith(".") else host
    literal = _parse_ip_literal(host)
    if encoded and literal is None:
        # We and the HTTP stack could look an encoded name up differently;
        # encoded IP literals were decoded above so they get judged (refused).
        raise UnsafeURLError("bad_url", "The host name is percent-encoded; write it plainly.")
    if literal is None and not _HOST_RE.match(host):
        raise UnsafeURLError("bad_url", f"The host name {host!r} contains characters that are not allowed.")
    return host


def _idna(host: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        # Nameprep also maps full-width digits and dots, so "１２７．０．０．１"
        # becomes 127.0.0.1 here and is then recognised as a literal.
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeURLError("bad_url", "The host name is not a valid internationalised "
                                        "domain name.") from None


def _parse_ip_literal(host: str) -> IPAddress | None:
    """The address if ``host`` is an IP literal in any form, None for names."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeURLError("bad_url", f"{host!r} is not a valid IPv6 address.") from None
    labels = host.split(".")
    # As in the WHATWG URL standard: a numeric last label means the host
    # is an IPv4 address (decimal, octal, hex or short form) or invalid.
    if not _NUMERIC_LABEL.match(labels[-1]):
        return None
    if all(_NUMERIC_LABEL.match(label) for label in labels):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            pass
    raise UnsafeURLError("bad_url", f"The host {host!r} looks like an IP address but is not a valid one.")


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURLError("unresolvable", f"The host name {host!r} could not be resolved ({exc}); "
                                             "check the URL.") from None
    addresses = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            addr = ipaddress.ip_address(sockaddr[0])
            if addr not in addresses:
                addresses.append(addr)
    if not addresses:
        raise UnsafeURLError("unresolvable", f"The host name {host!r} has no IP address; check the URL.")
    return addresses


def _check_address(addr: IPAddress, host: str, policy: OutboundPolicy) -> None:
    if policy.allows_address(addr) or not is_internal_address(addr):
        return
    # The rule, not the address: naming what an internal name resolves to would let a
    # tenant map the operator's network one refused URL at a time.
    raise UnsafeURLError(
        "private_address",
        f"The host {host!r} is or resolves to a loopback, private, link-local or otherwise "
        "internal address; such URLs are refused. Use a public URL, or have the operator add "
        "the host or network to PUSHWIRE_OUTBOUND_ALLOW.")


def is_internal_address(addr: IPAddress) -> bool:
    """True if ``addr`` (or an IPv4 address it embeds) is not a public unicast address."""
    return any(_is_special(form) for form in _address_forms(addr))


def _address_forms(addr: IPAddress) -> list[IPAddress]:
    """The address plus IPv4 addresses that traffic to it would reach."""
    if addr.version == 4:
        return [addr]
    embedded = _mapped_ipv4(addr)
    if embedded is not None:
        return [embedded]  # reaches exactly that IPv4 host: judge it as such
    forms: list[IPAddress] = [addr]
    if addr.sixtofour is not None:
        forms.append(addr.sixtofour)
    if addr.teredo is not None:
        forms.extend(addr.teredo)
    return forms


def _mapped_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """IPv4 behind ::ffff:a.b.c.d, ::ffff:0:a.b.c.d, ::a.b.c.d and NAT64 64:ff9b::a.b.c.d."""
    value, high = int(addr), int(addr) >> 32
    if high in (0xFFFF, 0xFFFF0000) or addr in _NAT64 or (high == 0 and value > 1):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None  # :: and ::1 are judged as IPv6


def _is_special(addr: IPAddress) -> bool:
    return (not addr.is_global or addr.is_private or addr.is_loopback or addr.is_link_local
            or addr.is_multicast or addr.is_reserved or addr.is_unspecified
            or any(addr in net for net in _BLOCKED_NETWORKS))


# --- Requests -----------------------------------------------------------------

class TransferTimeout(requests.exceptions.Timeout):
    """A bounded transfer hit its total deadline or fell below its minimum rate.

    ``reason`` is the Transfer's machine code (``source_too_slow``,
    ``callback_timeout``...); ``str(e)`` says which bound and its figures.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Transfer:
    """Bounds of one outbound transfer: a total deadline and a minimum rate.

    ``total`` seconds cover everything (connecting, redirects, headers, body):
    a watchdog thread shuts the transfer's sockets down when it passes, so no
    read can block beyond it, whatever a peer drips. With ``min_bytes``, fewer
    than that many body bytes in any ``window`` seconds (counted from the start)
    ends the transfer too. Use as a context manager; afterwards ``check()``
    raises ``TransferTimeout`` if a bound was hit (a peer that closes cleanly
    after a shutdown would otherwise look like a short, complete body).
    """

    def __init__(self, total: float, *, min_bytes: int = 0, window: float = 60.0,
                 reason: str = "transfer_timeout", what: str = "the transfer", tick: float = 0.25):
        self.total, self.min_bytes, self.window = float(total), int(min_bytes), float(window)
        self.reason, self.what, self.tick = reason, what, min(tick, max(0.05, window / 4))
        self.started = time.monotonic()
        self.deadline = self.started + self.total
        self.received = 0
        self.tripped: str | None = None  # the message once a bound was hit
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._samples: collections.deque = collections.deque([(self.started, 0)])
        self._thread: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------
    def __enter__(self) -> "Transfer":
        self._thread = threading.Thread(target=self._watch, name="pushwire-transfer-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._done.set()

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def extend(self, seconds: float) -> None:
        """Move the total deadline ``seconds`` later (the transfer was allowed more bytes)."""
        self.total += seconds
        self.deadline += seconds

    def timeout(self, connect: float, read: float) -> tuple[float, float]:
        """A requests timeout tuple that never outlives the deadline."""
        left = max(0.001, self.remaining())
        return min(connect, left), min(read, left)

    def register(self, sock: socket.socket) -> None:
        """Watch ``sock`` (called as each connection opens)."""
        with self._lock:
            self._socks.append(sock)
            tripped = self.tripped
        if tripped:
            _shutdown(sock)

    def note(self, nbytes: int) -> None:
        """Count body bytes received (for the minimum rate)."""
        self.received += nbytes

    def check(self) -> None:
        """Raise TransferTimeout if a bound was hit."""
        if self.tripped is None and time.monotonic() >= self.deadline:
            self._trip(self._deadline_message())
        if self.tripped is not None:
            raise TransferTimeout(self.reason, self.tripped)

    # -- the watchdog --------------------------------------------------------------
    def _watch(self) -> None:
        while not self._done.wait(self.tick):
            now = time.monotonic()
            if now >= self.deadline:
                self._trip(self._deadline_message())
                return
            if self.min_bytes and self._too_slow(now):
                self._trip(f"{self.what} sent {self.received - self._samples[0][1]} bytes in the last "
                           f"{self.window:g} s, fewer than the minimum of {self.min_bytes}")
                return

    def _too_slow(self, now: float) -> bool:
        samples = self._samples
        samples.append((now, self.received))
        while len(samples) > 1 and samples[1][0] <= now - self.window:
            samples.popleft()
        oldest_at, oldest_bytes = samples[0]
        return now - oldest_at >= self.window and self.received - oldest_bytes < self.min_bytes

    def _deadline_message(self) -> str:
        return f"{self.what} did not finish within {self.total:g} s"

    def _trip(self, message: str) -> None:
        with self._lock:
            if self.tripped is not None:
                return
            self.tripped = message
            socks = list(self._socks)
        for sock in socks:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    """End a socket another thread may be blocked on (SSL sockets included:
    the plain socket's shutdown, so the TLS object stays intact for its reader)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def download_transfer(settings, max_bytes: int, what: str = "the video_url") -> Transfer:
    """The bounds of a source download (``source_too_slow`` when hit).

    Minimum rate: ``PUSHWIRE_DOWNLOAD_MIN_BYTES`` in every
    ``PUSHWIRE_DOWNLOAD_RATE_WINDOW`` seconds. Total deadline:
    ``PUSHWIRE_DOWNLOAD_DEADLINE_BASE`` seconds plus the size limit at
    ``PUSHWIRE_DOWNLOAD_DEADLINE_SPEED`` bytes per second, so a file of the
    largest allowed size served at that speed still fits.
    """
    total = settings.download_deadline_base + download_seconds(settings, max_bytes)
    return Transfer(total, min_bytes=settings.download_min_bytes, window=settings.download_rate_window,
                    reason="source_too_slow", what=what)


def download_seconds(settings, nbytes: int) -> float:
    """The time ``nbytes`` more of a source download are given (``Transfer.extend``)."""
    return nbytes / max(1.0, settings.download_deadline_speed)


def read_at_most(resp: requests.Response, limit: int, transfer: Transfer | None = None) -> bytes:
    """At most ``limit`` raw (never decompressed) body bytes of a streamed response.

    Reads what arrives until ``limit`` bytes or the end of the body; the rest is
    never read (close the response). Raises TransferTimeout when ``transfer``
    hit a bound first.
    """
    data = bytearray()
    try:
        while len(data) < limit:
            chunk = resp.raw.read1(limit - len(data), decode_content=False)
            if not chunk:
                break
            data += chunk
            if transfer is not None:
                transfer.note(len(chunk))
    except Exception as exc:
        if transfer is not None:
            transfer.check()
        raise requests.exceptions.ConnectionError(f"reading the answer failed ({type(exc).__name__})") from exc
    if transfer is not None:
        transfer.check()
    return bytes(data)


def iter_bounded(resp: requests.Response, transfer: Transfer, chunk_size: int = 1 << 20):
    """The body of a streamed response in chunks of about ``chunk_size`` bytes,
    counting every read against ``transfer``'s minimum rate and deadline.

    The bytes are yielded as sent, never decompressed (ask with ``Accept-Encoding:
    identity``; an origin that compresses anyway delivers a file that fails the
    format check instead of a decompression bomb). Raises TransferTimeout when a
    bound was hit, including when the peer closed early because the watchdog
    ended the socket.
    """
    buf = bytearray()
    try:
        while True:
            piece = resp.raw.read1(chunk_size, decode_content=False)  # bytes as sent, never inflated
            transfer.note(len(piece))
            if not piece:
                break
            buf += piece
            if len(buf) >= chunk_size:
                transfer.check()
                yield bytes(buf)
                buf.clear()
    except TransferTimeout:
        raise
    except Exception as exc:
        transfer.check()
        if isinstance(exc, requests.RequestException):
            raise
        raise requests.exceptions.ConnectionError(f"reading the body failed ({type(exc).__name__}: {exc})") from exc
    transfer.check()
    if buf:
        yield bytes(buf)


class _PinnedAdapter(HTTPAdapter):
    """Transport adapter that connects to one pre-checked IP, never via a proxy.

    Set ``pin = (hostname, ip)`` before each ``send``. For https the TLS
    handshake sends SNI and verifies the certificate for ``hostname``.
    """

    pin: tuple[str, str] | None = None
    transfer: Transfer | None = None

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host, ip = self.pin
        if (host_params["host"] or "").rstrip(".").lower() != host:
            raise RuntimeError("pinned host does not match the request URL")  # internal bug guard
        host_params["host"] = ip
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = host
            pool_kwargs["assert_hostname"] = host
        return host_params, pool_kwargs

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        # A proxy would do its own DNS lookup and defeat the pinning.
        pool = super().get_connection_with_tls_context(request, verify, None, cert)
        if self.transfer is not None and not getattr(pool.ConnectionCls, "_pushwire_watched", False):
            pool.ConnectionCls = _watched(pool.ConnectionCls, self.transfer)
        return pool


def _watched(base: type, transfer: Transfer) -> type:
    """``base`` (urllib3's HTTP(S)Connection) registering each new socket with
    ``transfer`` before anything (TLS handshake included) is read from it."""

    class Watched(base):
        _pushwire_watched = True

        def _new_conn(self):
            sock = super()._new_conn()
            transfer.register(sock)
            return sock

    return Watched


def safe_request(method: str, url: str, *, policy: OutboundPolicy, session: requests.Session | None = None,
                 stream: bool = False, transfer: Transfer | None = None, **kwargs) -> requests.Response:
    """Like ``requests.request`` but safe for user-supplied URLs.

    Checks every URL (also each redirect hop) with ``check_url``, connects
    only to the addresses checked, follows at most ``policy.max_redirects``
    redirects (301/302/303 become GET without body, 307/308 keep method and
    body), and uses ``(policy.connect_timeout, policy.read_timeout)`` unless
    ``timeout`` is given. Accepts the keywords of ``requests.Request`` plus
    ``timeout``, ``verify``, ``cert`` and ``allow_redirects``; headers, cookies
    and auth of ``session`` apply. Proxies are never used. With
    ``stream=True`` the body is not read: use ``iter_content`` and close the
    response. With a started ``transfer`` (see Transfer) nothing outlives its
    deadline: connect and read timeouts are cut to what is left and the
    watchdog ends the sockets. Raises UnsafeURLError, TransferTimeout or a
    ``requests`` exception.
    """
    own_session = session is None
    if own_session:
        session = requests.Session()
        session.trust_env = False  # no proxies or ~/.netrc credentials for user URLs
    try:
        return _request(session, method, url, policy, stream, kwargs, transfer)
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
        # A URL that passed our checks but that requests parses differently.
        raise UnsafeURLError("bad_url", f"The URL is not valid ({exc}).") from None
    except (requests.RequestException, OSError):
        if transfer is not None:
            transfer.check()  # a bound ended it: say so rather than "connection reset"
        raise
    finally:
        if own_session:
            session.close()


def safe_get(url: str, *, policy: OutboundPolicy, **kw) -> requests.Response:
    """``safe_request("GET", url, policy=policy, **kw)``."""
    return safe_request("GET", url, policy=policy, **kw)


def _request(session, method, url, policy, stream, kwargs, transfer=None) -> requests.Response:
    if "proxies" in kwargs:
        raise TypeError("safe_request does not use proxies: they would bypass the address checks")
    opts = {"timeout": kwargs.pop("timeout", (policy.connect_timeout, policy.read_timeout)),
            "verify": kwargs.pop("verify", session.verify), "cert": kwargs.pop("cert", session.cert)}
    follow = kwargs.pop("allow_redirects", True)
    _check_syntax(url, policy)  # our clear errors before requests' own URL parsing
    prep = session.prepare_request(requests.Request(method.upper(), url, **kwargs))
    adapter, history = _PinnedAdapter(), []
    adapter.transfer = transfer
    while True:
        if transfer is not None:
            transfer.check()
            opts["timeout"] = transfer.timeout(*_timeout_pair(opts["timeout"]))
        resp = _send_pinned(adapter, prep, policy, stream, opts)
        extract_cookies_to_jar(session.cookies, prep, resp.raw)
        if not (follow and resp.is_redirect):
            break
        resp.close()
        if len(history) >= policy.max_redirects:
            raise UnsafeURLError("too_many_redirects",
                                 f"The URL redirected more than {policy.max_redirects} times "
                                 "(a redirect loop?); use the final URL directly.")
        history.append(resp)
        prep = _redirected(session, prep, resp, policy)
    resp.history = history
    if not stream:
        resp.content  # noqa: B018 - read now, as requests does, so the socket is released
        adapter.close()
    return resp


def _timeout_pair(timeout) -> tuple[float, float]:
    if isinstance(timeout, tuple):
        return (timeout[0] if timeout[0] is not None else 3600.0, timeout[1] if timeout[1] is not None else 3600.0)
    return (timeout or 3600.0, timeout or 3600.0)


def _send_pinned(adapter, prep, policy, stream, opts) -> requests.Response:
    """Send ``prep`` to the first checked address that accepts a connection."""
    targets = check_url(prep.url, policy)
    parts = urlsplit(prep.url)
    prep.headers["Host"] = parts.netloc.rpartition("@")[2]  # we connect by IP: name the site
    prep.headers["Connection"] = "close"  # pools are per call: leave no idle sockets behind
    error = None
    for ip, _port in targets:
        adapter.pin = (parts.hostname.rstrip("."), ip)
        started = time.perf_counter()
        try:
            resp = adapter.send(prep, stream=stream, **opts)
        except requests.ConnectionError as exc:
            if not _never_connected(exc):
                raise
            error = exc  # safe to try the next address: nothing was sent
            continue
        resp.elapsed = timedelta(seconds=time.perf_counter() - started)
        return dispatch_hook("response", prep.hooks, resp, stream=stream, **opts)
    raise error


def _never_connected(exc: requests.ConnectionError) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, ConnectTimeoutError)  # includes NewConnectionError (refused, unreachable)


def _redirected(session, prep, resp, policy) -> requests.PreparedRequest:
    """The request for the next hop, with method, body, auth and cookies adjusted."""
    url = urljoin(prep.url, session.get_redirect_target(resp))
    _check_syntax(url, policy)
    nxt = prep.copy()
    nxt.prepare_url(url, None)
    if resp.status_code in (301, 302, 303) and nxt.method != "HEAD":
        nxt.method, nxt.body = "GET", None  # what browsers do
        for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
            nxt.headers.pop(name, None)
    elif nxt.body is not None and not isinstance(nxt.body, (bytes, str)):
        rewind_body(nxt)  # 307/308 resend the body; raises if a stream cannot be rewound
    if session.should_strip_auth(prep.url, nxt.url):
        nxt.headers.pop("Authorization", None)  # never hand credentials to another host
    nxt.headers.pop("Cookie", None)
    extract_cookies_to_jar(nxt._cookies, prep, resp.raw)
    merge_cookies(nxt._cookies, session.cookies)
    nxt.prepare_cookies(nxt._cookies)
    return nxt
