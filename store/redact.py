"""Secrets out of every URL, log line and error message, by one helper."""

from __future__ import annotations

import logging
import re
from typing import Any

_PATTERNS = [
    re.compile(r"(?i)\b(access_token|refresh_token|client_secret|api_key|apikey|token|"
               r"secret|appsecret_proof|code|state|password|hub\.verify_token)=([^&\s\"']+)"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|basic|oauth)\s+)(\S+)"),
    # a Zapier Catch Hook URL is its own secret: /hooks/catch/{account}/{secret}/
    re.compile(r"(?i)(/hooks/catch/[^/\s]+/)([^/\s?\"']+)"),
]


def redact(text: str, hidden: tuple[str, ...] = ()) -> str:
    """Known secret values anywhere, and secret-looking URL params and headers."""
    for secret in sorted((s for s in hidden if s and len(s) >= 6), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}=[redacted]", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}[redacted]", text)
    return _PATTERNS[2].sub(lambda m: f"{m.group(1)}[redacted]", text)


_PLAIN = (int, float, bool, type(None))


def _redacted_arg(value: Any) -> Any:
    # numbers keep their type (a "%d" still formats); anything else, a URL object as httpx
    # logs it included, becomes its redacted text
    return value if isinstance(value, _PLAIN) else redact(str(value))


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with secrets out of its message, arguments and traceback. Arguments stay
    separate: formatters such as uvicorn's access log unpack ``record.args``."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redacted_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _redacted_arg(v) for k, v in record.args.items()}
    if record.exc_info:
        # formatted once here and redacted; formatters print exc_text when it is set, and
        # the exception itself (its message may hold a URL) goes no further
        if not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """For a handler or logger of its own: the same redaction as ``redact_every_log``."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_every_log() -> None:
    """Redact every record of every logger as it is made (idempotent).

    A filter on handlers would miss handlers added later (uvicorn reconfigures its own,
    tests add theirs) and a filter on a logger misses its children; the record factory
    sees each record once, before any handler does.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "_connectus_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    factory._connectus_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


__all__ = ["RedactingFilter", "redact", "redact_every_log", "redact_record"]
