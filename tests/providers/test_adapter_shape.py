"""Adapters of one shape (issue 12 item 6): one package per network with ``adapter.py`` and
``errors.py`` (``translate``), one Retry-After parser and one status ladder shared by the
five translations, optional capabilities as mixins (``app.providers.capabilities``)."""

from __future__ import annotations

import datetime as dt
import email.utils
import importlib
import json
from pathlib import Path

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from app.providers import REGISTRY, adapter_class
from app.providers.base import ProviderAdapter
from app.providers.capabilities import METHODS, ListsComments, capabilities
from app.providers.errors import (
    AuthExpired,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
)
from app.providers.fake import FakeAdapter
from app.providers.http import classify, ladder, retry_after

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 10, 21, 7, 0, tzinfo=dt.timezone.utc)


def response(status: int, body=None, headers: dict | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code, resp.reason, resp.url = status, "Reason", "https://provider.example/x"
    resp._content = body if isinstance(body, bytes) else json.dumps(body if body is not None else {}).encode()
    resp.headers = CaseInsensitiveDict(headers or {})
    resp.request = requests.Request("POST", resp.url).prepare()
    return resp


# -- one package per network ------------------------------------------------------------------
@pytest.mark.parametrize("network", sorted(REGISTRY))
def test_every_network_is_a_package_with_adapter_and_errors(network):
    package = ROOT / "app" / "providers" / network
    assert (package / "__init__.py").is_file() and (package / "adapter.py").is_file()
    assert (package / "errors.py").is_file()
    assert not (ROOT / "app" / "providers" / f"{network}.py").exists()
    errors = importlib.import_module(f"app.providers.{network}.errors")
    assert callable(errors.translate) and not hasattr(errors, "translate_error")
    cls = adapter_class(network)
    assert cls.__module__ == f"app.providers.{network}.adapter" and cls.name == network


@pytest.mark.parametrize("network", sorted(REGISTRY))
def test_every_translate_ends_on_the_shared_ladder(network):
    """A plain error answer (no network-specific body) is classified by the one ladder."""
    translate = importlib.import_module(f"app.providers.{network}.errors").translate
    args = ("page/post",) if network == "facebook" else ()
    for status, kind in ((401, AuthExpired), (403, PermissionDenied), (404, NotFound), (408, TransientError),
                         (409, InvalidInput), (429, RateLimited), (503, TransientError)):
        exc = translate(response(status, b"<html>proxy</html>", {"Retry-After": "7"}), *args)
        assert type(exc) is kind, (network, status, exc)
        if kind is RateLimited:
            assert exc.retry_after == 7.0


# -- Retry-After --------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 5 ", 5.0), ("2.5", 2.5), ("0", 0.0),
    ("Wed, 21 Oct 2026 07:28:00 GMT", 28 * 60.0),  # an HTTP-date
    ("Wednesday, 21-Oct-26 07:00:30 GMT", 30.0),  # the obsolete RFC 850 form
    ("Tue, 20 Oct 2026 07:00:00 GMT", 0.0),  # already past: retry now
    ("-5", None), ("soon", None), ("", None), ("nan", None), ("inf", None), ("Wed, 99 Foo 2026", None),
])
def test_retry_after_reads_seconds_and_http_dates(value, seconds):
    assert retry_after(response(429, headers={"Retry-After": value}), now=NOW) == seconds


def test_retry_after_without_the_header_is_none_and_any_case_is_read():
    assert retry_after(response(429)) is None
    assert retry_after(response(429, headers={"retry-after": "9"})) == 9.0


def test_retry_after_as_an_http_date_reaches_every_network():
    """Before the shared parser, an HTTP-date Retry-After was garbage to all five networks."""
    when = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10), usegmt=True)
    for network in sorted(REGISTRY):
        translate = importlib.import_module(f"app.providers.{network}.errors").translate
        args = ("page/post",) if network == "facebook" else ()
        body = {"error": {"code": 4, "message": "limit"}} if network == "facebook" else {}
        exc = translate(response(429, body, {"Retry-After": when}), *args)
        assert isinstance(exc, RateLimited) and 590 <= exc.retry_after <= 600, (network, exc.retry_after)


# -- the ladder -------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "kind"), [
    (400, InvalidInput), (401, AuthExpired), (403, PermissionDenied), (404, NotFound), (408, TransientError),
    (409, InvalidInput), (413, InvalidInput), (422, InvalidInput), (429, RateLimited), (500, TransientError),
    (502, TransientError), (503, TransientError), (504, TransientError),
])
def test_classify_maps_each_status_on_one_rung(status, kind):
    assert classify(status) is kind


def test_ladder_default_sentences_and_reasons():
    cases = {
        401: ("token_expired", "Acme refused the access token (expired or revoked)."),
        403: ("permission_denied", "Acme refused the request: nope"),
        404: ("not_found", "Acme does not know this object: nope"),
        400: ("rejected_by_provider", "Acme rejected the request: nope"),
        503: ("provider_unavailable", "Acme answered 503 (nope); retrying."),
        429: ("rate_limited", "Acme rate limit reached (nope); the push waits and retries."),
    }
    for status, (reason, info) in cases.items():
        exc = ladder(response(status), "Acme", "nope")
        assert (exc.reason, exc.info, exc.details) == (reason, info, {"status": status, "message": "nope"})


def test_ladder_takes_a_network_s_sentence_reason_status_and_wait():
    exc = ladder(response(404), "Acme", "gone", info={NotFound: "No such board."},
                 reason={NotFound: "board_not_found"}, details={"x": 1})
    assert (type(exc), exc.info, exc.reason, exc.details) == (NotFound, "No such board.", "board_not_found", {"x": 1})
    assert ladder(response(400), "Acme", "m", reason={InvalidInput: None}).reason == "rejected_by_provider"
    assert type(ladder(response(400), "Acme", "m", status=401)) is AuthExpired
    assert ladder(response(429, headers={"Retry-After": "3"}), "Acme", "m").retry_after == 3.0
    assert ladder(response(429, headers={"Retry-After": "3"}), "Acme", "m", wait=60.0).retry_after == 60.0
    assert ladder(response(429), "Acme", "m", wait=None).retry_after is None


# -- optional capabilities --------------------------------------------------------------------
#: What each network lets Pushwire do besides pushing (docs/providers.md per network).
CAPABILITIES = {
    "facebook": {"delete", "exists", "comments"},
    "youtube": {"delete", "exists", "comments"},
    "linkedin": {"delete", "exists"},
    "pinterest": {"delete", "exists"},
    "twitter": {"delete", "account_tier"},  # posts (uploaded media expires by itself after 24 h)
}


def test_the_registry_and_the_capability_table_name_the_same_networks():
    assert set(CAPABILITIES) == set(REGISTRY)


@pytest.mark.parametrize("network", sorted(REGISTRY))
def test_each_network_has_the_capabilities_it_offers_and_implements_them(network):
    cls = adapter_class(network)
    assert capabilities(cls) == CAPABILITIES[network]
    for mixin, method in METHODS.items():
        if issubclass(cls, mixin):  # implemented by the adapter, not the mixin's placeholder
            assert getattr(cls, method) is not getattr(mixin, method), (network, method)
        else:
            assert not hasattr(cls, method), (network, method)


def test_the_base_class_has_no_optional_hooks_and_the_fake_adapter_none_of_them():
    for method in METHODS.values():
        assert not hasattr(ProviderAdapter, method)
    assert capabilities(FakeAdapter()) == frozenset()


def test_a_capability_method_without_its_mixin_is_refused_at_class_creation():
    """A hook no caller would ever call (they check the mixin) fails loudly instead."""
    with pytest.raises(TypeError, match="ListsComments mixin"):
        class Silent(ProviderAdapter):
            def list_comments(self, kind, provider_ids, access_token, since=None):
                return []

    class Heard(ProviderAdapter, ListsComments):
        def list_comments(self, kind, provider_ids, access_token, since=None):
            return []

    assert capabilities(Heard) == {"comments"}
