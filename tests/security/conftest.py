import pytest

from tests.security.hostile import HostilePeer


@pytest.fixture(scope="module")
def peer():
    server = HostilePeer()
    yield server
    server.stop()
