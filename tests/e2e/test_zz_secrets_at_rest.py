"""After the end-to-end runs (this file sorts last): a database dump holds no plaintext secret."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.stack import SECRETS_GIVEN

pytestmark = pytest.mark.e2e


def test_database_dump_contains_no_plaintext_token_or_key(pg_url, redis_stack, site, client, make_identity):
    make_identity("twitter")  # at least one identity even when run alone
    dump = subprocess.run(["pg_dump", "--data-only", pg_url], capture_output=True, text=True, check=True).stdout
    assert "INSERT" in dump or "COPY" in dump
    secrets = [s for s in set(SECRETS_GIVEN) if len(s) >= 8]
    assert len(secrets) >= 3
    leaked = [s[:6] + "..." for s in secrets if s in dump]
    assert leaked == [], f"plaintext secrets in the database dump: {leaked}"
    assert "whsec_" not in dump
