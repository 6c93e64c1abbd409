"""SSRF protection in app.net: URL checks, IP pinning, redirects, TLS, streaming.

Real HTTP(S) servers run on 127.0.0.1 in threads; DNS is faked by patching
socket.getaddrinfo, and every TCP connect is recorded (or forbidden).
"""
from __future__ import annotations

import datetime
import io
import ipaddress
import json
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import urllib3

from app.net import OutboundPolicy, UnsafeURLError, check_url, safe_get, safe_request

LOCAL = OutboundPolicy(allow=("127.0.0.1",))
BIG_CHUNK = 64 * 1024


# --- fake DNS and connection recording ------------------------------------------

class FakeDNS:
    """getaddrinfo replacement: names in ``answers`` get fixed answers, IP
    literals the real result, everything else fails. Each value is a list of
    answers; a lookup takes the first and the last one repeats."""

    def __init__(self, real):
        self.real, self.answers, self.lookups = real, {}, []

    def add(self, name, *answers):
        self.answers[name] = [list(a) for a in answers]

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            try:
                ipaddress.ip_address(name)
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            return self.real(host, port, family, type, proto, flags)
        self.lookups.append(name)
        queue = self.answers[name]
        ips = queue.pop(0) if len(queue) > 1 else queue[0]
        return [_addrinfo(ip, int(port or 0)) for ip in ips]


def _addrinfo(ip, port):
    if ":" in ip:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def connections(monkeypatch):
    """Every address a socket connects to, as (ip, port)."""
    seen, real = [], socket.socket.connect

    def connect(sock, address):
        seen.append(tuple(address[:2]))
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


@pytest.fixture
def no_connections(monkeypatch):
    attempts = []

    def connect(sock, address):
        attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    yield
    assert attempts == []


# --- local test server ----------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self._route()

    do_POST = do_PUT = do_GET

    def _route(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.log.append({"method": self.command, "path": url.path, "body": body,
                                "headers": dict(self.headers)})
        getattr(self, "route_" + url.path.strip("/"), self.route_echo)(query)

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_echo(self, query):
        last = self.server.log[-1]
        data = {"method": last["method"], "headers": last["headers"], "body": last["body"].decode()}
        self._send(200, json.dumps(data).encode(), [("Content-Type", "application/json")])

    def route_redirect(self, query):
        headers = [("Location", query["to"])]
        if "cookie" in query:
            headers.append(("Set-Cookie", query["cookie"] + "; Path=/"))
        self._send(int(query.get("code", 302)), b"moved", headers)

    def route_loop(self, query):
        self._send(302, headers=[("Location", "/loop")])

    def route_hops(self, query):
        n = int(query["n"])
        self._send(302, headers=[("Location", f"/hops?n={n - 1}" if n > 1 else "/echo")])

    def route_big(self, query):
        size, block = int(query["size"]), b"x" * BIG_CHUNK
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for start in range(0, size, BIG_CHUNK):
            self.wfile.write(block[: size - start])

    def route_slow(self, query):
        time.sleep(1.0)
        self._send(200, b"late")


@contextmanager
def serve(tls: ssl.SSLContext | None = None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.log = []
    server.handle_error = lambda request, address: None  # clients hanging up on purpose
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server():
    with serve() as srv:
        srv.port = srv.server_address[1]
        srv.url = f"http://127.0.0.1:{srv.port}"
        yield srv


# --- forbidden forms ----------------------------------------------------------------

LITERAL_FORMS = [
    "http://127.0.0.1/", "http://127.0.0.1:8080/x", "http://2130706433/", "http://0177.0.0.1/",
    "http://0x7f.0.0.1/", "http://0x7f000001/", "http://0X7F.1/", "http://127.1/", "http://127.0.1/",
    "http://10.1/", "http://0/", "http://0.0.0.0/", "http://[::1]/", "http://[::]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::127.0.0.1]/", "http://[::ffff:0:7f00:1]/", "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::10.0.0.1]/", "http://[2002:7f00:1::]/", "http://[2002:a9fe:a9fe::]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/", "http://[fe80::1%25eth0]/", "http://[fd00::1]/", "http://[fc00::1]/",
    "http://[fec0::1]/", "http://[ff02::1]/", "http://10.0.0.1/", "http://172.16.0.1/",
    "http://172.31.255.255/", "http://192.168.1.1/", "http://100.64.0.1/", "http://224.0.0.1/",
    "http://239.255.255.250/", "http://255.255.255.255/", "http://240.0.0.1/", "http://198.18.0.1/",
    "http://192.0.0.1/", "HTTP://127.0.0.1/", "hTTpS://127.0.0.1/", "http://evil.com@127.0.0.1/",
    "http://user:pass@127.0.0.1:80/", "http://127.0.0.1./", "http://%31%32%37.0.0.1/",
    "http://%31%32%37%2e%30%2e%30%2e%31/", "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",
    "http://127\u30020\u30020\u30021/", "https://[::ffff:a9fe:a9fe]/",
]

NAME_FORMS = [  # (url, answers of the fake DNS for its host)
    ("http://localhost/", ["127.0.0.1", "::1"]),
    ("http://localhost./", ["127.0.0.1"]),
    ("http://LOCALHOST:8000/", ["127.0.0.1"]),
    ("http://metadata.google.internal/", ["169.254.169.254"]),
    ("http://intranet.example/", ["10.20.30.40"]),
    ("http://v6.example/", ["fd12:3456::1"]),
    ("http://mapped.example/", ["::ffff:192.168.0.1"]),
    ("http://rebind.example/", ["93.184.216.34", "127.0.0.1"]),  # one bad address is enough
]

BAD_URLS = [
    ("file:///etc/passwd", "bad_scheme"), ("ftp://example.com/", "bad_scheme"),
    ("gopher://127.0.0.1:70/", "bad_scheme"), ("dict://127.0.0.1:11211/", "bad_scheme"),
    ("javascript:alert(1)", "bad_scheme"), ("data:text/plain,hi", "bad_scheme"),
    ("//example.com/x", "bad_scheme"), ("example.com/x", "bad_scheme"), ("", "bad_scheme"),
    ("http:///path", "bad_url"), ("http://", "bad_url"), ("http://:80/", "bad_url"),
    ("http://[::1/", "bad_url"), ("http://1.2.3.4.5/", "bad_url"), ("http://256.1.1.1/", "bad_url"),
    ("http://08.0.0.1/", "bad_url"), ("http://0x1g.0.0.1/", "bad_url"), ("http://exa mple.com/", "bad_url"),
    ("http://example.com\\@127.0.0.1/", "bad_url"), ("http://exa%00mple.com/", "bad_url"),
    ("http://%65vil.com/", "bad_url"), ("http://ex!ample.com/", "bad_url"), ("http://[zz::1]/", "bad_url"),
    ("http://example.com\n/", "bad_url"),
    ("http://example.com:0/", "bad_port"), ("http://example.com:65536/", "bad_port"),
    ("http://example.com:99999/", "bad_port"), ("http://example.com:abc/", "bad_port"),
    ("http://127.0.0.1:0/", "bad_port"),
]


def _refuse(how, url, reason, policy=OutboundPolicy()):
    with pytest.raises(UnsafeURLError) as info:
        if how == "check_url":
            check_url(url, policy)
        else:
            safe_get(url, policy=policy)
    assert info.value.reason == reason, str(info.value)
    return info.value


@pytest.mark.parametrize("how", ["check_url", "safe_get"])
@pytest.mark.parametrize("url", LITERAL_FORMS)
def test_internal_ip_literals_are_refused_without_dns_or_connection(how, url, dns, no_connections):
    error = _refuse(how, url, "private_address")
    assert dns.lookups == []
    assert "PUSHWIRE_OUTBOUND_ALLOW" in str(error)


@pytest.mark.parametrize("how", ["check_url", "safe_get"])
@pytest.mark.parametrize("url,answers", NAME_FORMS)
def test_names_resolving_to_internal_addresses_are_refused(how, url, answers, dns, no_connections):
    dns.add(urlsplit(url).hostname.rstrip("."), answers)
    _refuse(how, url, "private_address")
    assert len(dns.lookups) == 1


@pytest.mark.parametrize("how", ["check_url", "safe_get"])
@pytest.mark.parametrize("url,reason", BAD_URLS)
def test_malformed_urls_are_refused(how, url, reason, dns, no_connections):
    _refuse(how, url, reason)
    assert dns.lookups == []


def test_unresolvable_name(dns, no_connections):
    error = _refuse("check_url", "https://no-such-host.invalid/video.mp4", "unresolvable")
    assert "no-such-host.invalid" in str(error)


@pytest.mark.parametrize("url,expected", [
    ("http://93.184.216.34/", [("93.184.216.34", 80)]),
    ("https://93.184.216.34/", [("93.184.216.34", 443)]),
    ("http://1572395042/", [("93.184.216.34", 80)]),
    ("http://[2606:4700::1111]:8443/x", [("2606:4700::1111", 8443)]),
    ("http://[::ffff:8.8.8.8]/", [("::ffff:808:808", 80)]),
    ("http://[64:ff9b::8.8.8.8]/", [("64:ff9b::808:808", 80)]),
    ("http://[2002:808:808::1]/", [("2002:808:808::1", 80)]),
])
def test_public_literals_pass_without_dns(url, expected, dns):
    assert check_url(url, OutboundPolicy()) == expected
    assert dns.lookups == []


def test_public_names_pass(dns):
    dns.add("cdn.example", ["93.184.216.34", "2606:2800:220:1::248", "93.184.216.34"])
    assert check_url("https://user@CDN.example./v.mp4?x=1#f", OutboundPolicy()) == [
        ("93.184.216.34", 443), ("2606:2800:220:1::248", 443)]


# --- the allow list -------------------------------------------------------------------------

def test_from_setting_parses_hosts_and_networks():
    policy = OutboundPolicy.from_setting(" 127.0.0.1, ::1/128 localhost,10.0.0.0/8,,*.svc.local ",
                                         max_redirects=2)
    assert policy.allow == ("127.0.0.1", "::1/128", "localhost", "10.0.0.0/8", "*.svc.local")
    assert policy.max_redirects == 2
    assert OutboundPolicy.from_setting("").allow == ()


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "bad host!", "http://x/", "-x.com"])
def test_from_setting_rejects_bad_entries(entry):
    with pytest.raises(ValueError, match="allow list"):
        OutboundPolicy.from_setting(entry)


def test_allow_list_lets_listed_addresses_and_hosts_through(dns):
    policy = OutboundPolicy.from_setting("127.0.0.1,::1/128,localhost,10.0.0.0/8,*.svc.local,vault")
    dns.add("localhost", ["127.0.0.1", "::1"])
    dns.add("api.svc.local", ["172.20.0.9"])
    dns.add("vault", ["192.168.7.7"])
    dns.add("intranet", ["10.9.8.7"])
    assert check_url("http://127.0.0.1:5000/", policy) == [("127.0.0.1", 5000)]
    assert check_url("http://2130706433/", policy) == [("127.0.0.1", 80)]
    assert check_url("http://[::ffff:127.0.0.1]/", policy) == [("::ffff:7f00:1", 80)]
    assert check_url("http://10.1/", policy) == [("10.0.0.1", 80)]
    assert check_url("http://localhost/", policy) == [("127.0.0.1", 80), ("::1", 80)]
    assert check_url("http://api.svc.local/", policy) == [("172.20.0.9", 80)]
    assert check_url("http://vault./", policy) == [("192.168.7.7", 80)]
    assert check_url("http://intranet/", policy) == [("10.9.8.7", 80)]
    for url in ("http://127.0.0.2/", "http://192.168.0.1/", "http://[::2]/", "http://svc.local/"):
        with pytest.raises(UnsafeURLError):
            check_url(url, policy)


# --- pinning: the peer is the checked address ----------------------------------------------

def test_connects_to_the_checked_address_without_a_second_lookup(server, dns, connections):
    # The second answer would be forbidden: a DNS-rebinding attempt.
    dns.add("flip.example", ["127.0.0.1"], ["10.0.0.1"])
    resp = safe_get(f"http://flip.example:{server.port}/echo", policy=LOCAL)
    assert resp.status_code == 200
    assert dns.lookups == ["flip.example"]
    assert connections == [("127.0.0.1", server.port)]
    assert resp.json()["headers"]["Host"] == f"flip.example:{server.port}"
    assert resp.url == f"http://flip.example:{server.port}/echo"


def test_tries_the_next_checked_address_when_one_refuses(server, dns, connections):
    dns.add("dual.example", ["127.0.0.2", "127.0.0.1"])
    policy = OutboundPolicy(allow=("127.0.0.0/8",))
    resp = safe_get(f"http://dual.example:{server.port}/echo", policy=policy)
    assert resp.status_code == 200
    assert connections == [("127.0.0.2", server.port), ("127.0.0.1", server.port)]


def test_environment_proxies_are_ignored(server, connections, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    session = requests.Session()  # trust_env=True: would normally read the variables
    session.headers["User-Agent"] = "Pushwire-test"
    resp = safe_get(server.url + "/echo", policy=LOCAL, session=session)
    assert resp.json()["headers"]["User-Agent"] == "Pushwire-test"
    assert connections == [("127.0.0.1", server.port)]
    with pytest.raises(TypeError):
        safe_get(server.url + "/echo", policy=LOCAL, proxies={"http": "http://127.0.0.1:9"})


def test_policy_read_timeout_applies(server):
    policy = OutboundPolicy(allow=("127.0.0.1",), read_timeout=0.2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        safe_get(server.url + "/slow", policy=policy)
    assert safe_get(server.url + "/slow", policy=policy, timeout=5).text == "late"


# --- redirects -------------------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:{port}/echo",
    "http://0x7f000002:{port}/echo", "http://internal.example:{port}/echo",
])
def test_redirect_to_forbidden_host_is_refused_at_the_hop(target, server, dns, connections):
    dns.add("internal.example", ["10.1.2.3"])
    url = f"{server.url}/redirect?to={target.format(port=server.port)}"
    with pytest.raises(UnsafeURLError) as info:
        safe_get(url, policy=LOCAL)
    assert info.value.reason == "private_address"
    assert connections == [("127.0.0.1", server.port)]


def test_redirect_rebinding_is_checked_again(server, dns, connections):
    dns.add("flip.example", ["127.0.0.1"], ["10.0.0.1"])
    url = f"http://flip.example:{server.port}/redirect?to=/echo"
    with pytest.raises(UnsafeURLError, match="internal address"):  # the rule, never the address
        safe_get(url, policy=LOCAL)
    assert dns.lookups == ["flip.example", "flip.example"]
    assert connections == [("127.0.0.1", server.port)]


@pytest.mark.parametrize("target,reason", [
    ("file:///etc/passwd", "bad_scheme"), ("gopher://127.0.0.1:70/_x", "bad_scheme"),
    ("http://127.0.0.1:0/", "bad_port"), ("http://exa%20mple.com/", "bad_url"),
])
def test_redirect_to_bad_url_is_refused(target, reason, server, connections):
    with pytest.raises(UnsafeURLError) as info:
        safe_get(server.url + "/redirect?to=" + target.replace("%", "%25"), policy=LOCAL)
    assert info.value.reason == reason
    assert connections == [("127.0.0.1", server.port)]


def test_redirect_loop_stops(server):
    policy = OutboundPolicy(allow=("127.0.0.1",), max_redirects=3)
    with pytest.raises(UnsafeURLError) as info:
        safe_get(server.url + "/loop", policy=policy)
    assert info.value.reason == "too_many_redirects"
    assert len(server.log) == 4


def test_max_redirects_is_exact(server):
    policy = OutboundPolicy(allow=("127.0.0.1",), max_redirects=3)
    resp = safe_get(server.url + "/hops?n=3", policy=policy)
    assert resp.status_code == 200
    assert [r.status_code for r in resp.history] == [302, 302, 302]
    assert resp.url == server.url + "/echo"
    with pytest.raises(UnsafeURLError, match="more than 2"):
        safe_get(server.url + "/hops?n=3", policy=OutboundPolicy(allow=("127.0.0.1",), max_redirects=2))


def test_redirects_can_be_returned_instead_of_followed(server):
    resp = safe_get(server.url + "/redirect?to=/echo", policy=LOCAL, allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"] == "/echo"
    assert len(server.log) == 1


@pytest.mark.parametrize("code", [301, 302, 303])
def test_post_becomes_get_without_body(code, server):
    resp = safe_request("POST", f"{server.url}/redirect?code={code}&to=/echo", policy=LOCAL,
                        data=b"secret=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    echo = resp.json()
    assert (echo["method"], echo["body"]) == ("GET", "")
    assert "Content-Length" not in echo["headers"] and "Content-Type" not in echo["headers"]
    assert [e["method"] for e in server.log] == ["POST", "GET"]


@pytest.mark.parametrize("code", [307, 308])
@pytest.mark.parametrize("body", [b'{"a": 1}', "file"])
def test_307_308_keep_method_and_body(code, body, server):
    data = io.BytesIO(b'{"a": 1}') if body == "file" else body
    resp = safe_request("POST", f"{server.url}/redirect?code={code}&to=/echo", policy=LOCAL, data=data)
    assert (resp.json()["method"], resp.json()["body"]) == ("POST", '{"a": 1}')


def test_authorization_is_dropped_when_the_host_changes(server, dns):
    dns.add("other.example", ["127.0.0.1"])
    same = safe_get(f"{server.url}/redirect?to=/echo", policy=LOCAL, auth=("u", "p"))
    assert same.json()["headers"]["Authorization"].startswith("Basic ")
    other = f"http://other.example:{server.port}/echo"
    moved = safe_get(f"{server.url}/redirect?to={other}", policy=LOCAL, auth=("u", "p"))
    assert "Authorization" not in moved.json()["headers"]
    assert moved.json()["headers"]["Host"] == f"other.example:{server.port}"


def test_cookies_set_on_a_redirect_are_sent_on(server):
    resp = safe_get(f"{server.url}/redirect?cookie=k%3Dv&to=/echo", policy=LOCAL)
    assert resp.json()["headers"]["Cookie"] == "k=v"


# --- streaming ---------------------------------------------------------------------------------

def test_large_body_streams_in_chunks(server):
    size = 8 * 1024 * 1024 + 123
    with safe_get(f"{server.url}/big?size={size}", policy=LOCAL, stream=True) as resp:
        assert resp.raw.tell() == 0  # nothing read into memory yet
        sizes = [len(c) for c in resp.iter_content(BIG_CHUNK)]
    assert sum(sizes) == size
    assert max(sizes) <= BIG_CHUNK and len(sizes) >= size // BIG_CHUNK


def test_non_streamed_body_is_read(server):
    resp = safe_get(f"{server.url}/big?size=1000", policy=LOCAL)
    assert resp.content == b"x" * 1000


# --- TLS: pinned IP, original name ---------------------------------------------------------------

def _make_certificates(directory, name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pushwire test CA")])

    def builder(subject, public_key):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))

    ca = (builder(ca_name, ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (directory / "key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(directory / "ca.pem")


@pytest.fixture
def tls_server(tmp_path):
    ca_file = _make_certificates(tmp_path, "pushwire.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    sni = []
    context.sni_callback = lambda sock, name, ctx: sni.append(name)
    with serve(context) as srv:
        srv.port, srv.ca_file, srv.sni = srv.server_address[1], ca_file, sni
        yield srv


def test_https_connects_to_pinned_ip_and_verifies_the_original_name(tls_server, dns, connections):
    dns.add("pushwire.test", ["127.0.0.1"])
    url = f"https://pushwire.test:{tls_server.port}/echo"
    resp = safe_get(url, policy=LOCAL, verify=tls_server.ca_file)
    assert resp.status_code == 200
    assert tls_server.sni == ["pushwire.test"]  # the certificate has no IP: only the name verifies
    assert resp.json()["headers"]["Host"] == f"pushwire.test:{tls_server.port}"
    assert connections == [("127.0.0.1", tls_server.port)]


def test_https_certificate_for_another_name_is_rejected(tls_server, dns):
    dns.add("other.test", ["127.0.0.1"])
    with pytest.raises(requests.exceptions.SSLError):
        safe_get(f"https://other.test:{tls_server.port}/echo", policy=LOCAL, verify=tls_server.ca_file)
    with pytest.raises(requests.exceptions.SSLError):
        safe_get(f"https://127.0.0.1:{tls_server.port}/echo", policy=LOCAL, verify=tls_server.ca_file)
    with pytest.raises(requests.exceptions.SSLError):  # unknown CA: default trust store
        safe_get(f"https://127.0.0.1:{tls_server.port}/echo", policy=LOCAL)


def test_https_without_verification_still_pins(tls_server, dns, connections):
    dns.add("other.test", ["127.0.0.1"])
    with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
        resp = safe_get(f"https://other.test:{tls_server.port}/echo", policy=LOCAL, verify=False)
    assert resp.status_code == 200 and tls_server.sni == ["other.test"]
    assert connections == [("127.0.0.1", tls_server.port)]
