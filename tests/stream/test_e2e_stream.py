"""End to end on the shared stack (gunicorn + Celery + beat on PostgreSQL and Redis):
push a video to the fake X and watch the stream."""

from __future__ import annotations

import json

import pytest

from app.config import Settings
from app.providers.capabilities import ListsComments
from app.providers.twitter import TwitterAdapter
from app.runtime import Runtime
from app.stream import producers
from tests.support.origin import make_video
from tests.stream.support import StreamReader

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


class TwitterWithComments(TwitterAdapter, ListsComments):
    """X has no comment API for media; this stands in to drive the comment beat task."""

    comments: dict[str, list[dict]] = {}

    def list_comments(self, kind, provider_ids, access_token, since=None):
        return list(self.comments.get(provider_ids.get("media_id"), []))


@pytest.fixture()
def local_rt(pg_url, tmp_path, redis_stack):
    """The beat task's code run in-process on the stack's database and Redis."""
    rt = Runtime(Settings(data_dir=tmp_path, database_url=pg_url, secret_key="test-secret-key-one",
                          redis_url=redis_stack.env["PUSHWIRE_REDIS_URL"], stream_comment_interval=0))
    yield rt
    rt.db.engine.dispose()


def test_upload_comment_and_delete_reach_an_open_stream(redis_stack, client, site, make_identity, origin,
                                                        fake_x, local_rt, monkeypatch):
    user = make_identity("twitter", location="Paris", description='likes <tags> & "quotes"')
    reader = StreamReader(redis_stack.url, "127.0.0.1", token=site["stream_key"])
    try:
        assert reader.resp.status_code == 200, reader.resp.text
        reader.wait_for(lambda _: reader.lines, timeout=5)
        video = make_video(1024 * 1024 + 17, seed=31)
        resp = client.push_twitter_video(user["identity"], origin.add("stream.mp4", video),
                                          event="Concert <live> & \"more\"", latitude=48.85, longitude=2.35)
        assert resp.status_code == 200, resp.text
        token = resp.json()["response"]["result"]["data"]["request_token"]
        final = client.wait_final(token)
        assert final["state"] == "succeeded", json.dumps(final, indent=1)
        media_id = final["provider_ids"]["media_id"]

        [upload] = reader.wait_for(lambda els: any("video" in e for e in els), timeout=15)
        node = upload["video"]
        assert node["guid"] == media_id and node["source"] == "site-a" and node["size"] == "1.00"
        assert node["event"] == 'Concert <live> & "more"' and node["latitude"] == 48.85
        assert node["longitude"] == 2.35 and node["text"] is None
        assert node["user"]["name"] == user["username"] and node["user"]["location"] == "Paris"
        assert node["user"]["description"] == 'likes <tags> & "quotes"'

        from app import providers

        monkeypatch.setitem(providers.REGISTRY, "twitter", "tests.stream.test_e2e_stream:TwitterWithComments")
        TwitterWithComments.comments = {media_id: [{"id": "k1", "text": "nice!", "author": {"name": "dave"}}]}
        producers.poll_comments(local_rt)
        producers.poll_comments(local_rt)  # the same comment is not emitted twice
        reader.wait_for(lambda els: any("comment" in e for e in els), timeout=10)

        deleted = client.http.delete(f"{client.base_url}/push/requests/{token}.json", timeout=30)
        assert deleted.status_code == 200, deleted.text
        elements = reader.wait_for(lambda els: any("delete" in e for e in els), timeout=10)
        assert [e for e in elements if "delete" in e][0]["delete"] == {"guid": media_id, "username": user["username"]}
        assert client.status(token)["state"] == "succeeded"
        again = client.http.delete(f"{client.base_url}/push/requests/{token}.json", timeout=30)
        assert again.status_code == 200
        kinds = [next(k for k in e if k != "id") for e in reader.elements]
        assert kinds == ["video", "comment", "delete"]
        assert [e["comment"] for e in reader.elements if "comment" in e] == [
            {"guid": media_id, "user": {"name": "dave", "location": None, "profile_image_url": None,
                                        "profile_background_image_url": None, "description": None,
                                        "num_followers": None}, "comment": "nice!"}]
    finally:
        reader.close()
