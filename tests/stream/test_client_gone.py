"""The idle-stream liveness check works for any descriptor number (a node with 1,000
open streams has sockets above 1024, where select() fails)."""

from __future__ import annotations

import os
import resource
import socket

import pytest

from app.stream.views import _client_gone


@pytest.fixture()
def high_socket():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2100:
        pytest.skip("cannot open descriptors above 2048 here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2100), hard))
    ours, peer = socket.socketpair()
    fd = os.dup2(ours.fileno(), 2050)
    high = socket.socket(fileno=fd)
    ours.close()
    yield high, peer
    high.close()
    peer.close()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_live_client_on_a_high_descriptor_is_not_gone(high_socket):
    sock, peer = high_socket
    assert sock.fileno() >= 1024
    assert _client_gone(sock) is False
    peer.sendall(b"x")  # data waiting (e.g. a pipelined request) is not a hang-up
    assert _client_gone(sock) is False


def test_closed_client_on_a_high_descriptor_is_gone(high_socket):
    sock, peer = high_socket
    peer.close()
    assert _client_gone(sock) is True
