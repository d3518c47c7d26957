"""Secrets out of every URL, log line and error message, by one helper."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    re.compile(r"(?i)\b(access_token|refresh_token|client_secret|api_key|apikey|token|"
               r"secret|appsecret_proof|code|state|password|hub\.verify_token)=([^&\s\"']+)"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|basic|oauth)\s+)(\S+)"),
]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Known secret values anywhere, and secret-looking URL params and headers."""
    for secret in sorted((s for s in secrets if s and len(s) >= 6), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}=[redacted]", text)
    return _PATTERNS[1].sub(lambda m: f"{m.group(1)}[redacted]", text)


class RedactingFilter(logging.Filter):
    """For loggers whose lines carry URLs (access logs): OAuth codes and states, webhook
    secrets in query strings (Mailchimp ?secret=, Salesforce ?token=) never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str) and not record.args:
            record.msg = redact(record.msg)
        return True
