"""Issue rows 9, 11 and 12: anonymous connect pages are rate-limited and their rows pruned;
no Host-derived OAuth redirect; refusals name the rule, not the internal address."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
import requests

from app import create_app
from app.connect import state as flowstate
from app.models import ConnectFlow, Site, SiteCallbackUrl
from app.net import OutboundPolicy, UnsafeURLError, check_url
from app.pipeline.sweep import sweep
from app.runtime import Runtime

CALLBACK = "https://site.example/connected"


def _flows(pg_url: str, site_id: int) -> int:
    with psycopg.connect(pg_url) as conn:
        return conn.execute("SELECT count(*) FROM connect_flows WHERE site_id = %s", (site_id,)).fetchone()[0]


def _site_id(pg_url: str, public_key: str) -> int:
    with psycopg.connect(pg_url) as conn:
        return conn.execute("SELECT id FROM sites WHERE public_key = %s", (public_key,)).fetchone()[0]


def test_anonymous_connect_pages_are_rate_limited_and_state_is_capped(stack, pg_url):
    site = stack.create_site("connect-flood")
    stack.cli("site", "callback", "add", site["public_key"], CALLBACK)
    url = stack.url + "/connect/twitter.html"
    params = {"site": site["public_key"], "callback_uri": CALLBACK}
    long_state = requests.get(url, params={**params, "state": "s" * 1000}, allow_redirects=False, timeout=10)
    assert long_state.status_code == 400 and "state_too_long" in long_state.text
    # Before: 300 requests made 300 rows with 1,000-character states.
    answers = [requests.get(url, params={**params, "state": "x" * 200}, allow_redirects=False, timeout=10,
                            headers={"X-Forwarded-For": "203.0.113.7"}).status_code for _ in range(40)]
    assert answers.count(302) == 20 and answers.count(429) == 20, answers
    # Other addresses are still limited by the site's own budget.
    spread = [requests.get(url, params=params, allow_redirects=False, timeout=10,
                           headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(10)]
    assert set(spread) == {429}, spread
    assert _flows(pg_url, _site_id(pg_url, site["public_key"])) == 20


def test_the_sweeper_prunes_expired_connect_rows(settings):
    rt = Runtime(settings.model_copy(update={"connect_flow_ttl": 0}))
    with rt.db.session() as session:
        site = Site(name="prune", private_key_hash="x", stream_key=flowstate.new_nonce(), signing_secret_enc="x")
        session.add(site)
        session.flush()
        for _ in range(5):
            flowstate.start_flow(session, rt, site_id=site.id, provider="twitter", callback_uri=CALLBACK,
                                 site_state="x", nonce=flowstate.new_nonce(), pkce=False)
        site_id = site.id
    with rt.db.session() as session:
        session.query(ConnectFlow).filter_by(site_id=site_id).update(
            {"expires_at": dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)})
    assert sweep(rt)["pruned"] >= 5
    with rt.db.session() as session:
        assert session.query(ConnectFlow).filter_by(site_id=site_id).count() == 0
    rt.db.engine.dispose()


def _connect_app(settings, **overrides):
    app = create_app(settings.model_copy(update={"twitter_client_id": "cid", "twitter_client_secret": "cs",
                                                 **overrides}))
    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        site = Site(name="host", private_key_hash="x", stream_key=flowstate.new_nonce(), signing_secret_enc="x")
        session.add(site)
        session.flush()
        session.add(SiteCallbackUrl(site_id=site.id, url=CALLBACK))
        public_key = site.public_key
    return app, public_key


def _get(app, path: str, **kw):
    try:
        return app.test_client().get(path, **kw)
    finally:
        app.extensions["pushwire"].db.engine.dispose()


def test_no_redirect_uri_is_derived_from_the_host_header(settings):
    app, public_key = _connect_app(settings, connect_base_url="")
    resp = _get(app, f"/connect/twitter.html?site={public_key}&callback_uri={CALLBACK}",
                headers={"Host": "attacker.example"})
    # Before: 302 to the provider with redirect_uri=http://attacker.example/connect/twitter/callback.
    assert resp.status_code == 503 and b"PUSHWIRE_CONNECT_BASE_URL" in resp.data
    assert b"attacker.example" not in resp.data and "Location" not in resp.headers


def test_the_configured_base_url_wins_over_the_host_header(settings):
    app, public_key = _connect_app(settings, connect_base_url="https://push.example.com")
    resp = _get(app, f"/connect/twitter.html?site={public_key}&callback_uri={CALLBACK}",
                headers={"Host": "attacker.example"})
    assert resp.status_code == 302
    assert "redirect_uri=https%3A%2F%2Fpush.example.com%2Fconnect%2Ftwitter%2Fcallback" in resp.headers["Location"]
    assert "attacker" not in resp.headers["Location"]


@pytest.mark.parametrize("url", ["http://localhost/x", "http://10.1.2.3/x", "http://[::ffff:192.168.0.1]/x"])
def test_refusals_name_the_rule_not_the_internal_address(url):
    with pytest.raises(UnsafeURLError) as err:
        check_url(url, OutboundPolicy())
    message = str(err.value)
    assert err.value.reason == "private_address" and "internal address" in message
    for leaked in ("127.0.0.1", "::1", "10.1.2.3", "192.168.0.1"):
        assert f"to {leaked}" not in message and f") {leaked}" not in message and not message.endswith(leaked)
    assert "resolves to 1" not in message and "::ffff" not in message.split("'")[-1]


def test_a_gateway_without_connect_base_url_never_redirects_to_the_host_header(stack, security_env, tmp_path):
    from tests.security.procs import procfile_web

    site = stack.create_site("host-header")
    stack.cli("site", "callback", "add", site["public_key"], CALLBACK)
    env = {**security_env, "PUSHWIRE_TWITTER_CLIENT_ID": "cid", "PUSHWIRE_TWITTER_CLIENT_SECRET": "cs"}
    env.pop("PUSHWIRE_CONNECT_BASE_URL", None)
    with procfile_web(env, tmp_path / "web.log") as url:
        resp = requests.get(url + "/connect/twitter.html", params={"site": site["public_key"], "callback_uri": CALLBACK},
                            headers={"Host": "attacker.example", "X-Forwarded-For": "192.0.2.44"},
                            allow_redirects=False, timeout=10)
    # Before: 302 to X with redirect_uri=http://attacker.example/connect/twitter/callback.
    assert resp.status_code == 503 and "PUSHWIRE_CONNECT_BASE_URL" in resp.text
    assert "Location" not in resp.headers and "attacker.example" not in resp.text
