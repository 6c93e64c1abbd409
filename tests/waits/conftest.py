"""The in-process gateway fixtures of tests/gateway, for the durable-wait tests."""

from tests.gateway.conftest import api, app, broker, site_a  # noqa: F401
