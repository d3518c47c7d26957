"""Secrets out of every URL, log line and error message, by one helper."""

from __future__ import annotations

import re

_PATTERNS = [
    re.compile(r"(?i)(access_token|refresh_token|client_secret|api_key|apikey|token|"
               r"appsecret_proof|code|password)=([^&\s\"']+)"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|basic|oauth)\s+)(\S+)"),
]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Known secret values anywhere, and secret-looking URL params and headers."""
    for secret in sorted((s for s in secrets if s and len(s) >= 6), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}=[redacted]", text)
    return _PATTERNS[1].sub(lambda m: f"{m.group(1)}[redacted]", text)
