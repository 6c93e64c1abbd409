"""Structured logs: context on every line, JSON lines, and secrets never written."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app.logs import RedactingFilter, make_handler, redact, work_context

SECRETS = {
    "bearer": "Authorization: Bearer AAAAsecretbearertoken123",
    "header_dict": "{'Authorization': 'OAuth oauth_consumer_key=\"ck\", oauth_signature=\"sigSECRETsig\"'}",
    "access_token": "POST /oauth2/token access_token=tokSECRETacc&x=1",
    "refresh_json": '{"refresh_token": "refSECRETref", "expires_in": 7200}',
    "private_key": "site private_key: pkSECRETpk123",
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpemSECRETpem\n-----END RSA PRIVATE KEY-----",
    "whsec": "signing secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "signature": "webhook-signature: v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    "bare_signature": "headers={'webhook-id': 'msg_1', 'sig': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='}",
    "url_password": "broker amqp://guest:pwSECRETpw@rabbit:5672//",
}
LEAKS = ("AAAAsecretbearertoken123", "sigSECRETsig", "tokSECRETacc", "refSECRETref", "pkSECRETpk123",
         "MIIEpemSECRETpem", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN",
         "g0hM9SsE+OTPJTGt", "pwSECRETpw")


@pytest.fixture(params=[False, True], ids=["text", "json"])
def captured(request):
    stream = io.StringIO()
    logger = logging.getLogger("pushwire.test.logs")
    handler = make_handler(json_lines=request.param, stream=stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream, request.param
    logger.removeHandler(handler)


def test_secrets_never_reach_the_log(captured):
    logger, stream, _ = captured
    for text in SECRETS.values():
        logger.info(text)
        logger.info("with args %s and %r", text, {"access_token": "tokSECRETacc"})
    try:
        raise RuntimeError(SECRETS["refresh_json"] + " " + SECRETS["whsec"])
    except RuntimeError:
        logger.exception("failed: %s", SECRETS["bearer"])
    out = stream.getvalue()
    assert out.count("***") >= len(SECRETS)
    for leak in LEAKS:
        assert leak not in out, f"{leak} leaked into:\n{out}"


def test_lines_carry_the_work_context(captured):
    logger, stream, json_lines = captured
    with work_context(request_token="tok123", site="site-a", provider="twitter", stage="upload", attempt=2):
        logger.info("uploading chunk %d", 3)
    logger.info("outside")
    first, second = stream.getvalue().splitlines()[:2]
    if json_lines:
        line = json.loads(first)
        assert line == {**line, "message": "uploading chunk 3", "request_token": "tok123", "site": "site-a",
                        "provider": "twitter", "stage": "upload", "attempt": 2, "level": "INFO"}
        assert "request_token" not in json.loads(second)
    else:
        assert "request_token=tok123 site=site-a provider=twitter stage=upload attempt=2" in first
        assert "request_token" not in second


def test_redacting_filter_masks_foreign_handlers():
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "hdr %s", (SECRETS["bearer"],), None)
    RedactingFilter().filter(record)
    assert "AAAAsecretbearertoken123" not in record.getMessage()


def test_ordinary_text_is_left_alone():
    text = "request_token=abc123 identity_token=def456 pushed video 1234 in 2.5 s"
    assert redact(text) == text
