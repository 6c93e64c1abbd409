"""Every resource is invisible to other sites: each endpoint tried with another site's keys."""

from __future__ import annotations

import pytest

from app.push.endpoints import ENDPOINTS
from tests.gateway.conftest import ApiClient, make_identity, make_site

BODIES = {
    "post": {"message": "hi", "link": None},
}


def _path(endpoint, identity):
    return f"/push/identities/{identity}/{endpoint.path.replace('<playlist_id>', 'PL123')}.json"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.path for e in ENDPOINTS])
def test_push_with_another_sites_identity_is_404(app, broker, endpoint):
    owner, intruder = make_site(app, "owner"), make_site(app, "intruder")
    identity = make_identity(app, owner, provider=endpoint.provider)
    api = ApiClient(app.test_client(), intruder)
    resp = api.post(_path(endpoint, identity), {"request": {"push": {endpoint.node: {}}}})
    # Body validation may answer first (400) but never with the owner's data; with a
    # valid body the identity lookup answers 404 exactly as for an unknown identity.
    assert resp.status_code in (400, 404)
    assert "owner" not in resp.get_data(as_text=True)
    assert sum(broker.llen(q) for q in ("staging", "upload")) == 0


def test_requests_and_identities_of_another_site_are_invisible(app, broker):
    owner, intruder = make_site(app, "owner"), make_site(app, "intruder")
    identity = make_identity(app, owner)
    mine = ApiClient(app.test_client(), owner)
    theirs = ApiClient(app.test_client(), intruder)
    resp = mine.post(f"/push/identities/{identity}/twitter/video.json",
                     {"request": {"push": {"video": {"video_url": "https://e.com/v.mp4"}}}})
    token = resp.json["response"]["result"]["data"]["request_token"]

    assert theirs.get(f"/push/requests/{token}.json").status_code == 404
    assert theirs.delete(f"/push/requests/{token}.json").status_code == 404
    assert theirs.get(f"/identities/{identity}.json").status_code == 404
    assert theirs.put(f"/identities/{identity}/synchronize.json").status_code == 404
    assert theirs.delete(f"/identities/{identity}.json?confirm_deletion=true").status_code == 404
    listed = theirs.get("/push/requests.json").json["response"]["result"]["data"]["requests"]
    assert listed["entries"] == [] and listed["pagination"]["total_entries"] == 0
    filtered = theirs.get(f"/push/requests.json?identity_token={identity}").json
    assert filtered["response"]["result"]["data"]["requests"]["entries"] == []
    assert theirs.get("/identities.json").json["response"]["result"]["data"]["identities"]["entries"] == []
    # ... while the owner sees both.
    assert mine.get(f"/push/requests/{token}.json").status_code == 200
    assert mine.get(f"/identities/{identity}.json").status_code == 200
