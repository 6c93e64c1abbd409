"""The Stream API over real HTTP against two gunicorn gateways sharing PostgreSQL + Redis."""

from __future__ import annotations

import json
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from tests.stream.support import StreamReader, ids, video

pytestmark = pytest.mark.timeout(60)


def _open(gateway, ip, **params) -> StreamReader:
    reader = StreamReader(gateway.url, ip, **params)
    assert reader.resp.status_code == 200, reader.resp.text
    reader.wait_for(lambda _: reader.lines, timeout=5)  # the first keep-alive: subscribed
    return reader


def test_json_framing_headers_and_keepalive(gateways, new_site, produce, ip):
    a, _ = gateways
    site_id, key = new_site()
    reader = _open(a, ip, token=key)
    try:
        headers = reader.resp.headers
        assert headers["Content-Type"].startswith("application/json")
        assert headers["Cache-Control"] == "no-cache" and headers["X-Accel-Buffering"] == "no"
        first = produce(site_id, "upload", video("111"))
        [element] = reader.wait_count(1)
        assert element == {"id": first, **video("111")}
        time.sleep(2.3)  # idle: keep-alives flow every second
        assert reader.lines.count("") >= 3
        assert bytes(reader.raw).endswith(b"\r\n") and b"\n\n" not in bytes(reader.raw).replace(b"\r\n", b"")
        second = produce(site_id, "delete", {"delete": {"guid": "111", "username": "alice"}})
        reader.wait_count(2)
        assert ids(reader.elements) == [first, second]
        raw_line = json.dumps({"id": second, "delete": {"guid": "111", "username": "alice"}},
                              separators=(",", ":")).encode() + b"\r\n"
        assert raw_line in bytes(reader.raw)
    finally:
        reader.close()


def test_xml_elements_are_escaped_and_well_formed(gateways, new_site, produce, ip):
    _, b = gateways
    site_id, key = new_site()
    reader = _open(b, ip, token=key, format="xml", method="POST")
    nasty = 'a <b>bold</b> & "quoted" \'single\' ]]> \n second line'
    try:
        assert reader.resp.headers["Content-Type"].startswith("application/xml")
        vid = produce(site_id, "upload", video("222", text=nasty, source='S&P "<site>"'))
        com = produce(site_id, "comment", {"comment": {"guid": "222", "user": {"name": "<bob>"}, "comment": nasty}})
        [v, c] = reader.wait_count(2)
        assert v.tag == "video" and v.get("id") == str(vid)
        assert v.findtext("text") == nasty and v.findtext("source") == 'S&P "<site>"'
        assert v.findtext("user/num_followers") == "3" and v.find("event").text is None
        assert [child.tag for child in v] == ["guid", "source", "event", "longitude", "latitude", "thumbnail",
                                              "size", "created_at", "text", "url", "user"]
        assert c.tag == "comment" and c.get("id") == str(com) and c.findtext("comment") == nasty
        assert c.findtext("user/name") == "<bob>"
        assert all("\n" not in line for line in reader.lines)  # one element per line
    finally:
        reader.close()


@pytest.mark.parametrize("events,expected", [
    (None, {"upload", "delete", "comment"}),
    ("upload", {"upload"}),
    ("delete", {"delete"}),
    ("comment", {"comment"}),
    ("upload|comment", {"upload", "comment"}),
    ("delete|upload", {"upload", "delete"}),
    ("upload|delete|comment", {"upload", "delete", "comment"}),
])
def test_events_filter(gateways, new_site, produce, ip, events, expected):
    a, _ = gateways
    site_id, key = new_site()
    reader = _open(a, ip, token=key, **({"events": events} if events else {}))
    try:
        produce(site_id, "upload", video("1"))
        produce(site_id, "delete", {"delete": {"guid": "1", "username": "u"}})
        produce(site_id, "comment", {"comment": {"guid": "1", "user": {"name": "n"}, "comment": "c"}})
        produce(site_id, "upload", video("marker"))  # always last
        tag = {"upload": "video", "delete": "delete", "comment": "comment"}
        if "upload" in expected:
            reader.wait_for(lambda els: any(e.get("video", {}).get("guid") == "marker" for e in els))
        else:
            time.sleep(1.5)
        got = {next(k for k in e if k != "id") for e in reader.elements}
        assert got == {tag[kind] for kind in expected}
    finally:
        reader.close()


@pytest.mark.parametrize("params,code,status", [
    ({"token": "nope"}, 1001, 401),
    ({}, 1002, 401),
    ({"token": "nope", "events": "upload|likes"}, 1003, 400),
    ({"token": "nope", "events": "upload|"}, 1003, 400),
    ({"token": "nope", "format": "yaml"}, 1004, 400),
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_in_requested_format(gateways, ip, params, code, status, fmt):
    a, _ = gateways
    if code != 1004:
        params = {**params, "format": fmt}
    resp = requests.get(a.url + "/stream/api/", params=params, headers={"X-Forwarded-For": ip}, timeout=5)
    assert resp.status_code == status
    msg = {1001: "Invalid or expired token"}.get(code)
    if fmt == "xml" and code != 1004:
        assert resp.text.startswith("<?xml version='1.0' encoding='UTF-8'?><rsp status='fail'><err code=")
        err = ET.fromstring(resp.content).find("err")
        assert err.get("code") == str(code)
        if msg:
            assert resp.text.strip() == ("<?xml version='1.0' encoding='UTF-8'?><rsp status='fail'>"
                                         "<err code='1001' msg='Invalid or expired token'/></rsp>")
    else:
        body = resp.json()
        assert body["rsp"]["status"] == "fail" and body["rsp"]["err"]["code"] == code
        if msg:
            assert body == {"rsp": {"status": "fail", "err": {"code": 1001, "msg": msg}}}


def test_newer_connection_replaces_older_across_processes(gateways, new_site, produce, ip):
    a, b = gateways
    site_id, key = new_site()
    first = _open(a, ip, token=key)
    second = _open(b, ip, token=key, format="xml")  # another process
    try:
        first.done.wait(5)
        assert first.done.is_set(), "the older stream is closed"
        assert json.loads(first.lines[-1]) == {"rsp": {"status": "fail", "err": {
            "code": 1005, "msg": "Connection replaced by a newer connection with the same token"}}}
        event = produce(site_id, "upload", video("r1"))
        [element] = second.wait_count(1)
        assert element.get("id") == str(event)
        third = _open(b, ip, token=key)  # same process this time
        second.done.wait(5)
        assert ET.fromstring(second.lines[-1]).find("err").get("code") == "1005"
        third.close()
    finally:
        first.close()
        second.close()


def test_excessive_attempts_ban_the_ip_everywhere(gateways, ip):
    a, b = gateways
    for n in range(5):  # the limit: 5 per minute, failed attempts count too
        resp = requests.get((a if n % 2 else b).url + "/stream/api/", params={"token": "bad"},
                            headers={"X-Forwarded-For": ip}, timeout=5)
        assert resp.status_code == 401
    resp = requests.get(a.url + "/stream/api/", params={"token": "bad", "format": "xml"},
                        headers={"X-Forwarded-For": ip}, timeout=5)
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 3
    assert ET.fromstring(resp.content).find("err").get("code") == "1006"
    resp = requests.get(b.url + "/stream/api/", params={"token": "bad"}, headers={"X-Forwarded-For": ip}, timeout=5)
    assert resp.status_code == 429 and resp.json()["rsp"]["err"]["code"] == 1006
    other = requests.get(b.url + "/stream/api/", params={"token": "bad"},
                         headers={"X-Forwarded-For": ip + "9"}, timeout=5)
    assert other.status_code == 401  # other clients are not affected
    time.sleep(3.2)  # the ban expires
    resp = requests.get(a.url + "/stream/api/", params={"token": "bad"}, headers={"X-Forwarded-For": ip}, timeout=5)
    assert resp.status_code == 401


def test_tenancy_each_site_sees_only_its_events(gateways, new_site, produce, ip):
    a, b = gateways
    (site1, key1), (site2, key2) = new_site(), new_site()
    one, two = _open(a, ip, token=key1), _open(b, ip, token=key2)
    try:
        e1 = produce(site1, "upload", video("mine"))
        e2 = produce(site2, "upload", video("theirs"))
        e3 = produce(site1, "delete", {"delete": {"guid": "mine", "username": "u"}})
        assert ids(one.wait_count(2)) == [e1, e3]
        assert ids(two.wait_count(1)) == [e2]
        time.sleep(0.5)
        assert ids(one.elements) == [e1, e3] and ids(two.elements) == [e2]
    finally:
        one.close()
        two.close()


def test_resume_with_since_replays_then_goes_live_without_gaps(gateways, new_site, produce, ip):
    a, b = gateways
    site_id, key = new_site()
    reader = _open(a, ip, token=key)
    first = [produce(site_id, "upload", video(f"v{n}")) for n in range(3)]
    reader.wait_count(3)
    reader.close()
    missed = [produce(site_id, "comment", {"comment": {"guid": "v0", "user": {}, "comment": f"c{n}"}})
              for n in range(4)]
    resumed = _open(b, ip, token=key, since=str(first[-1]))
    live = [produce(site_id, "delete", {"delete": {"guid": "v1", "username": "u"}}) for _ in range(2)]
    try:
        assert ids(resumed.wait_count(6)) == missed + live
        filtered = _open(a, ip, token=key, since=str(first[0]), events="upload")
        assert ids(filtered.wait_count(2)) == first[1:]
        filtered.close()
    finally:
        resumed.close()


def test_delete_may_arrive_before_its_upload(gateways, new_site, produce, ip):
    a, _ = gateways
    site_id, key = new_site()
    reader = _open(a, ip, token=key)
    try:
        d = produce(site_id, "delete", {"delete": {"guid": "early", "username": "u"}})
        u = produce(site_id, "upload", video("early"))
        elements = reader.wait_count(2)
        assert elements == [{"id": d, "delete": {"guid": "early", "username": "u"}}, {"id": u, **video("early")}]
    finally:
        reader.close()


def test_curl_sees_events_incrementally(gateways, new_site, produce, ip):
    _, b = gateways
    site_id, key = new_site()
    curl = subprocess.Popen(["curl", "-sN", "-H", f"X-Forwarded-For: {ip}",
                             f"{b.url}/stream/api/?token={key}&events=upload&format=xml"],
                            stdout=subprocess.PIPE)
    try:
        assert curl.stdout.readline() == b"\r\n"  # headers and first keep-alive arrive at once
        event = produce(site_id, "upload", video("curl", text="x < y & z"))
        line = b""
        while not line.strip():
            line = curl.stdout.readline()
        assert line.endswith(b"\r\n")
        element = ET.fromstring(line)
        assert element.get("id") == str(event) and element.findtext("text") == "x < y & z"
        assert curl.poll() is None, "the stream stays open"
    finally:
        curl.kill()
        curl.wait()
        curl.stdout.close()
