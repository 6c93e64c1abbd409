"""The same pipeline on RabbitMQ: the broker is a setting, not a code path."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import stack_env
from tests.support.origin import make_video
from tests.support.services import RABBIT_URL
from tests.support.stack import Client, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.rabbitmq]


@pytest.fixture(scope="module")
def rabbit_stack(pg_url, s3_endpoint, fakes, tmp_path_factory):
    env = stack_env(pg_url, RABBIT_URL, s3_endpoint, fakes, str(tmp_path_factory.mktemp("rabbit")),
                    "pushwire-rabbit")
    stack = Stack(env).start()
    yield stack
    stack.stop()


def test_video_push_over_rabbitmq(rabbit_stack, fake_x, origin, receiver):
    site = rabbit_stack.create_site("rabbit-site")
    client = Client(rabbit_stack.url, site)
    user = fake_x.state.add_user("777001", "rabbit_user")
    identity = client.import_identity("twitter", {**user, "user_id": "777001", "username": "rabbit_user"})
    video = make_video(3 * 1024 * 1024 + 5, seed=77)
    resp = client.push_twitter_video(identity, origin.add("rabbit.mp4", video), receiver.url)
    assert resp.status_code == 200, resp.text
    token = resp.json()["response"]["result"]["data"]["request_token"]
    final = client.wait_final(token)
    assert final["state"] == "succeeded", final
    assert fake_x.state.media[final["provider_ids"]["media_id"]]["sha256"] == hashlib.sha256(video).hexdigest()
    assert "amqp://" in rabbit_stack.log("worker") or "Connected to amqp" in rabbit_stack.log("worker")
    receiver.wait_for(lambda got: any(token.encode() in c["body"] and c["status"] == 204 for c in got))
