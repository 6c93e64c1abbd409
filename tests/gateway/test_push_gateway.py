"""Gateway behaviour of the Twitter video endpoint: envelopes, errors, queueing."""

from __future__ import annotations

import pytest

from app.push.endpoints import ENDPOINTS
from tests.gateway.conftest import make_identity, make_site, queued

VIDEO = "/push/identities/{}/twitter/video.json"


def body(**node):
    return {"request": {"push": {"video": node}}}


def status_of(resp) -> dict:
    return resp.json["response"]["request"]["status"]


def test_accepted_push_is_queued_with_the_seed_envelope(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    resp = api.post(VIDEO.format(identity), body(video_url="https://example.com/a.avi",
                                                 callback_url="https://example.com/cb"))
    assert resp.status_code == 200, resp.json
    envelope = resp.json["response"]
    assert envelope["request"]["resource"] == VIDEO.format(identity)
    assert envelope["request"]["status"] == {"flag": "success", "code": 200,
                                             "info": "Your request has been processed successfully"}
    data = envelope["result"]["data"]
    assert data["object"] == "video" and len(data["request_token"]) == 36
    assert data["result"] == "The video has been added to the queue and will be uploaded soon."
    assert broker.llen("staging") == 1
    assert b"secret-access-token" not in broker.lindex("staging", 0)

    status = api.get(f"/push/requests/{data['request_token']}.json").json["response"]["result"]["data"]["request"]
    assert status["state"] == "queued" and status["audit"]["transitions"][0]["to"] == "queued"


@pytest.mark.parametrize("raw,reason,fragment", [
    ("{not json", "invalid_json", "not valid JSON"),
    ("", "invalid_body", "empty"),
    ('["a list"]', "invalid_body", "request"),
    ('{"request": {"push": {}}}', "missing_field", "request.push.video"),
    ('{"request": {"push": {"video": {}}}}', "missing_field", "request.push.video.video_url"),
    ('{"request": {"push": {"video": {"video_url": "ftp://x.com/a.avi"}}}}', "invalid_field", "video_url"),
    ('{"request": {"push": {"video": {"video_url": "/relative.avi"}}}}', "invalid_field", "video_url"),
    ('{"request": {"push": {"video": {"video_url": 42}}}}', "invalid_field", "video_url"),
    ('{"request": {"push": {"video": {"video_url": "https://x.com/a", "colour": "red"}}}}', "unknown_field", "colour"),
    ('{"request": {"push": {"video": {"video_url": "https://x.com/a", "callback_url": "file:///etc/passwd"}}}}',
     "invalid_field", "callback_url"),
])
def test_bad_bodies_get_400_naming_the_problem_and_queue_nothing(api, app, site_a, broker, raw, reason, fragment):
    identity = make_identity(app, site_a)
    resp = api.post(VIDEO.format(identity), raw=raw)
    assert resp.status_code == 400
    status = status_of(resp)
    assert status["flag"] == "error" and status["code"] == 400 and status["reason"] == reason
    assert fragment in status["info"]
    assert "result" not in resp.json["response"]
    assert queued(broker) == 0


def test_wrong_credentials_are_401(app, api, site_a, broker):
    identity = make_identity(app, site_a)
    client = app.test_client()
    for auth in [None, (site_a["public_key"], "wrong"), ("unknown", site_a["private_key"])]:
        resp = client.post(VIDEO.format(identity), json=body(video_url="https://e.com/a.avi"), auth=auth)
        assert resp.status_code == 401
        assert status_of(resp)["reason"] == "invalid_credentials"
        assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert queued(broker) == 0


def test_unknown_and_foreign_identities_are_404(app, api, broker):
    other = make_site(app, "site-b")
    foreign = make_identity(app, other)
    for token in ["00000000-0000-0000-0000-000000000000", foreign]:
        resp = api.post(VIDEO.format(token), body(video_url="https://e.com/a.avi"))
        assert resp.status_code == 404
        assert status_of(resp)["reason"] == "unknown_identity"
    assert queued(broker) == 0


def test_identity_of_another_provider_is_refused(app, api, site_a, broker):
    identity = make_identity(app, site_a, provider="youtube")
    resp = api.post(VIDEO.format(identity), body(video_url="https://e.com/a.avi"))
    assert resp.status_code == 400 and status_of(resp)["reason"] == "identity_provider_mismatch"
    assert queued(broker) == 0


def test_idempotency_key_returns_the_first_request(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    first = api.post(VIDEO.format(identity), body(video_url="https://e.com/a.avi"), headers={"Idempotency-Key": "k1"})
    again = api.post(VIDEO.format(identity), body(video_url="https://e.com/a.avi"), headers={"Idempotency-Key": "k1"})
    other = api.post(VIDEO.format(identity), body(video_url="https://e.com/b.avi"), headers={"Idempotency-Key": "k1"})
    token = first.json["response"]["result"]["data"]["request_token"]
    assert again.json["response"]["result"]["data"]["request_token"] == token
    assert other.status_code == 409 and status_of(other)["reason"] == "idempotency_key_reused"
    assert broker.llen("staging") == 1


def test_oversized_body_is_413(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    resp = api.post(VIDEO.format(identity), raw='{"request": {"push": {"video": {"video_url": "https://e.com/' +
                    "a" * (2 * 1024 * 1024) + '"}}}}')
    assert resp.status_code == 413 and status_of(resp)["reason"] == "request_too_large"


def test_unknown_path_and_method_are_enveloped(api):
    resp = api.get("/push/nothing-here.json")
    assert resp.status_code == 404 and status_of(resp)["flag"] == "error"
    resp = api.get(VIDEO.format("abc"))
    assert resp.status_code == 405 and status_of(resp)["reason"] == "method_not_allowed"


def test_url_map_of_the_19_push_endpoints_is_pinned(app):
    rules = sorted(r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/push/identities/"))
    expected = sorted(f"/push/identities/<identity_token>/{p}.json" for p in [
        "facebook/post", "facebook/picture", "facebook/video",
        "facebook/group/post", "facebook/group/picture", "facebook/group/video",
        "facebook/page/post", "facebook/page/picture", "facebook/page/video",
        "linkedin/post", "linkedin/company/post", "pinterest/pin",
        "twitter/post", "twitter/picture", "twitter/video",
        "youtube/video", "youtube/playlist/<playlist_id>/video", "youtube/playlist", "youtube/channel/section",
    ])
    assert rules == expected
    assert len(ENDPOINTS) == 19


def test_nul_characters_and_absurd_pages_are_400_not_500(api, app, site_a, broker):
    identity = make_identity(app, site_a)
    resp = api.post(VIDEO.format(identity), raw='{"request": {"push": {"video": {"video_url": "https://e.com/\\u0000"}}}}')
    assert resp.status_code == 400 and status_of(resp)["reason"] == "invalid_character"
    assert api.get("/push/requests.json?identity_token=%00").status_code == 400
    resp = api.get("/push/requests.json?page=5640430099332263511714693120")
    assert resp.status_code == 400 and status_of(resp)["reason"] == "invalid_paging"
    assert api.post("/identities.json", raw='{"request": {"identity": {"provider": "twitter", "access_token": "a",'
                    ' "provider_user_id": "x\\u0000"}}}').status_code == 400
    assert queued(broker) == 0


def test_deeply_nested_json_is_400_not_a_crash(api, app, site_a):
    identity = make_identity(app, site_a)
    for raw in ("[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000):
        resp = api.post(VIDEO.format(identity), raw=raw)
        assert resp.status_code == 400 and status_of(resp)["reason"] == "invalid_json"
        assert api.post("/identities.json", raw=raw).status_code == 400


def test_malformed_playlist_id_in_the_path_is_400(api, app, site_a, broker):
    identity = make_identity(app, site_a, provider="youtube")
    body = {"request": {"push": {"video": {"video_id": "dQw4w9WgXcQ"}}}}
    resp = api.post(f"/push/identities/{identity}/youtube/playlist/bad%20id!/video.json", body)
    assert resp.status_code == 400 and "playlist_id" in status_of(resp)["info"]
    assert queued(broker) == 0


def test_remembered_callers_do_not_outlive_a_deleted_identity_or_a_wrong_key(app, api, site_a, broker):
    """The push endpoints remember a verified (keys, identity) pair for a few
    seconds; a deleted identity is still 404 within that window, and a wrong
    private key is still 401 (the cache is keyed by the key's hash)."""
    from app.models import Identity

    identity = make_identity(app, site_a)
    push = body(video_url="https://example.com/a.mp4")
    path = f"/push/identities/{identity}/twitter/video.json"
    assert api.post(path, push).status_code == 200  # verified and remembered
    wrong = dict(site_a, private_key=site_a["private_key"] + "x")
    from tests.gateway.conftest import ApiClient

    assert ApiClient(app.test_client(), wrong).post(path, push).status_code == 401

    rt = app.extensions["pushwire"]
    with rt.db.session() as session:
        session.delete(session.query(Identity).filter_by(token=identity).one())
    resp = api.post(path, push)
    assert resp.status_code == 404, resp.json
    assert status_of(resp)["reason"] == "unknown_identity"
    assert queued(broker) == 1, "only the first push was queued"
