"""Structured, secret-free logging for the gateway and the workers.

``configure_logging(settings)`` installs one root handler (idempotent) whose
lines carry the work context (``request_token``, ``site``, ``provider``,
``stage``, ``attempt``) and are JSON objects when ``PUSHWIRE_LOG_JSON=true``.
Every line, exception text included, passes through ``redact()``.

Set the context with ``bind(**fields)`` (returns a handle for ``unbind``) or
``work_context(**fields)`` as a context manager; both use contextvars, so
threads and gthread workers do not see each other's context.

    >>> redact("Authorization: Bearer abc.def")
    'Authorization: ***'
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from contextlib import contextmanager

CONTEXT_FIELDS = ("request_token", "site", "provider", "stage", "attempt", "task_id", "http")
_context: contextvars.ContextVar[dict] = contextvars.ContextVar("pushwire_log_context", default={})

MASK = "***"
_SECRET_KEYS = (
    r"access_token|refresh_token|id_token|client_secret|secret_key|signing_secret|private_key"
    r"|password|passwd|api_key|apikey|oauth_token_secret|oauth_signature|oauth_token|code_verifier"
    r"|x-api-key|webhook-signature|webhook_signature"
)
_PATTERNS = (
    # Standard Webhooks signatures ("v1,<base64>") wherever they travel.
    (re.compile(r"\bv1,[A-Za-z0-9+/=]{16,}"), "v1," + MASK),
    # PEM private keys, whole block.
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
     "-----PRIVATE KEY " + MASK + "-----"),
    # Authorization headers in any notation: the whole value up to a quote or line end.
    (re.compile(r"""(?i)(\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^"'\n]+"""), r"\1" + MASK),
    # key=value, "key": "value", key: value for secret-bearing names.
    (re.compile(r"""(?i)(["']?\b(?:%s)\b["']?\s*[:=]\s*["']?)[^"'\s,&;})\]]+""" % _SECRET_KEYS), r"\1" + MASK),
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), "whsec_" + MASK),
    # Credentials inside URLs: scheme://user:password@host.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@", re.I), r"\1" + MASK + "@"),
    # Query parameters that carry a secret: ?token=<stream key>, &key=..., &code=... (OAuth).
    (re.compile(r"(?i)([?&](?:token|stream_key|key|code|state)=)[^&\s\"']+"), r"\1" + MASK),
    # Magic login links: /dashboard/login/<signed token>.
    (re.compile(r"(/dashboard/login/)[^/?\s\"']+"), r"\1" + MASK),
    # The stream key header.
    (re.compile(r"""(?i)(\bx-stream-key["']?\s*[:=]\s*["']?)[^"'\s,]+"""), r"\1" + MASK),
)


def redact(text: str) -> str:
    """``text`` with tokens, secrets, signatures and private keys masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def bind(**fields) -> contextvars.Token:
    """Add fields to the current work context; pass the result to ``unbind``."""
    return _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def bind_request(push) -> None:
    """Tag the rest of this task's log lines (and metrics) with the push it works on."""
    bind(request_token=push.token, site=push.site_id, provider=push.provider)


def unbind(token: contextvars.Token) -> None:
    """Restore the context as it was before the matching ``bind``."""
    try:
        _context.reset(token)
    except ValueError:  # reset from another context (signal handlers): just clear
        _context.set({})


def clear() -> None:
    """Forget the whole work context (e.g. when a task ends)."""
    _context.set({})


def current_context() -> dict:
    """The fields bound in this thread/task."""
    return dict(_context.get())


@contextmanager
def work_context(**fields):
    """``with work_context(request_token=..., stage="upload"): ...``"""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


class ContextFilter(logging.Filter):
    """Copies the work context onto every record (absent fields are None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, ctx.get(name))
        return True


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message and exception text.

    Attach to handlers we do not format ourselves (gunicorn's); our own
    formatters redact the finished line as well.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class TextFormatter(logging.Formatter):
    """``time level logger [token site provider stage#attempt] message``."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ctx)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if getattr(record, k, None) is not None]
        record.ctx = f" [{' '.join(parts)}]" if parts else ""
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: getattr(record, k) for k in CONTEXT_FIELDS if getattr(record, k, None) is not None})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        # Redact values before encoding: JSON escaping would hide quotes from the patterns.
        line = {k: redact(v) if isinstance(v, str) else v for k, v in line.items()}
        return redact(json.dumps(line, default=str))


class _StreamHandler(logging.StreamHandler):
    """A StreamHandler that, given no stream, writes to whatever ``sys.stderr`` is now
    (test runners swap it; a handler bound to a closed capture would fail)."""

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        self._stream = value


def make_handler(json_lines: bool, stream=None) -> logging.Handler:
    """A stream handler with the context filter and our (redacting) formatter."""
    handler = _StreamHandler()
    handler.stream = stream
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler._pushwire = True  # marks ours, so configure_logging stays idempotent
    return handler


def configure_logging(settings) -> None:
    """Install the Pushwire handler on the root logger (once per process).

    Also puts a RedactingFilter on handlers other libraries installed (gunicorn's
    error and access logs), so their lines are masked too.
    """
    root = logging.getLogger()
    if not any(getattr(h, "_pushwire", False) for h in root.handlers):
        root.addHandler(make_handler(settings.log_json))
    root.setLevel(str(settings.log_level).upper())
    for name in ("gunicorn.error", "gunicorn.access", "celery", "celery.task", "celery.redirected"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


try:  # gunicorn is installed wherever the gateway runs; the workers do not need this class
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with its access log lines passed through ``redact()``:
    ``?token=<stream key>`` and ``/dashboard/login/<magic token>`` never reach a
    log file. Installed by the repository's ``gunicorn.conf.py`` (gunicorn reads
    it from the working directory), so every gunicorn command line gets it."""

    _REDACTED_ATOMS = ("r", "U", "q", "f", "{raw_uri}e", "{query_string}e", "{path_info}e")

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in self._REDACTED_ATOMS:
            value = atoms.get(key)
            if isinstance(value, str) and value:
                bare_query = key in ("q", "{query_string}e")  # without its "?"
                atoms[key] = redact("?" + value)[1:] if bare_query else redact(value)
        return atoms

    def error(self, msg, *args, **kwargs):
        super().error(redact(str(msg)), *args, **kwargs)
