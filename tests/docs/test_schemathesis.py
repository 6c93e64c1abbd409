"""Property-based conformance of the live gateway to its own OpenAPI document.

schemathesis reads ``/openapi.json`` from the running gunicorn gateway and sends
bounded, derandomized examples of every API operation (positive and negative
data) with a real site's keys; each answer must not be a 5xx, must use a
documented status code and must match the documented envelope schema.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks

pytestmark = pytest.mark.e2e

# The Push and identity/status contract. The stream (a standing connection whose
# bad attempts ban the caller's IP for everyone) and ops probes are left out.
API_PATHS = re.compile(r"^/(push|identities)")
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance, checks.status_code_conformance]
EXAMPLES = 25


@pytest.fixture(scope="module")
def fuzz_site(redis_stack):
    return redis_stack.create_site("schemathesis")


@pytest.fixture(scope="module")
def api_schema(redis_stack):
    config = schemathesis.Config.from_dict({"base-url": redis_stack.url})
    return schemathesis.openapi.from_url(redis_stack.url + "/openapi.json", config=config)


def _operations(schema):
    for result in schema.get_all_operations():
        operation = result.ok()
        if API_PATHS.match(operation.path):
            yield operation


def _fuzz(operation, mode: GenerationMode, auth: tuple[str, str]) -> list[str]:
    """Send bounded examples of one operation; return a description of each failure."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        try:
            case.call_and_validate(auth=auth, checks=CHECKS, timeout=20)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported together below
            failures.append(f"{case.method} {case.formatted_path} [{mode.value}]\n{case.as_curl_command()}\n{exc}")

    run()
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_gateway_conforms_to_openapi(api_schema, fuzz_site, mode):
    auth = (fuzz_site["public_key"], fuzz_site["private_key"])
    operations = list(_operations(api_schema))
    assert len(operations) >= 19 + 8
    failures = [f for operation in operations for f in _fuzz(operation, mode, auth)]
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:40])

