"""The OpenAPI document and the /docs page, in process (no servers needed)."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import Settings
from app.push.endpoints import ENDPOINTS

NON_PUSH = {("get", "/push/requests.json"), ("get", "/push/requests/{token}.json"),
            ("delete", "/push/requests/{token}.json"), ("get", "/identities.json"), ("post", "/identities.json"),
            ("get", "/identities/{token}.json"), ("delete", "/identities/{token}.json"),
            ("put", "/identities/{token}/synchronize.json")}


@pytest.fixture()
def web(tmp_path):
    return create_app(Settings(data_dir=tmp_path, secret_key="docs-test")).test_client()


def test_openapi_describes_every_endpoint_with_examples(web):
    resp = web.get("/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["basicAuth"] == {
        "type": "http", "scheme": "basic", "description": "public key : private key"}
    ops = {(m, p): op for p, methods in spec["paths"].items() for m, op in methods.items()}
    push = [(m, p) for m, p in ops if p.startswith("/push/identities/")]
    assert len(push) == len(ENDPOINTS) == 19
    assert NON_PUSH <= set(ops)
    for (method, path), op in ops.items():
        if path in ("/openapi.json", "/docs") or not op["responses"].get("200", op["responses"].get("201")):
            continue
        ok = op["responses"].get("200") or op["responses"]["201"]
        if "application/json" in ok.get("content", {}) and path.startswith(("/push", "/identities")):
            assert "example" in ok["content"]["application/json"], (method, path)
            assert {"401", "500"} <= set(op["responses"]), (method, path)
        if "requestBody" in op:
            assert "example" in op["requestBody"]["content"]["application/json"], (method, path)
    video = ops[("post", "/push/identities/{identity_token}/twitter/video.json")]
    body = video["requestBody"]["content"]["application/json"]
    assert body["example"]["request"]["push"]["video"]["video_url"].startswith("https://")
    assert body["schema"]["properties"]["request"]["properties"]["push"]["properties"]["video"] == {
        "$ref": "#/components/schemas/TwitterVideo"}
    assert spec["components"]["schemas"]["TwitterVideo"]["required"] == ["video_url"]
    assert set(video["responses"]) >= {"200", "202", "400", "401", "404", "409", "413", "429", "500"}


def test_docs_page_shows_fields_curl_and_answers(web):
    resp = web.get("/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    for endpoint in ENDPOINTS:
        assert endpoint.path.replace("<playlist_id>", "{playlist_id}") + ".json" in html
    assert "/identities/{token}/synchronize.json" in html
    assert html.count('class="curl"') == html.count('class="op"')
    assert "<code>video_url</code>" in html and "privacy_status" in html
    assert "curl" in html and "-u $PUBLIC_KEY:$PRIVATE_KEY" in html
    assert "The video has been added to the queue" in html
    assert "https://" not in html.split("<main>")[0].replace("http://localhost", "")  # no CDN assets
