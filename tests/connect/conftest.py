"""Connect-flow fixtures: the site's registered callback URL and a fresh browser."""

from __future__ import annotations

import pytest

from tests.connect.browser import CALLBACK, Browser


@pytest.fixture(scope="session")
def connect_site(redis_stack, site):
    """site-a with ``CALLBACK`` registered through the CLI."""
    redis_stack.cli("site", "callback", "add", site["public_key"], CALLBACK)
    return site


@pytest.fixture()
def browser(redis_stack, connect_site) -> Browser:
    return Browser(redis_stack.url)
