"""Signature and secret checks shared by the providers' webhook verifiers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from store.errors import AuthenticationFailed


class WebhookRejected(AuthenticationFailed):
    code = "webhook_rejected"


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac_sha256(secret, message).hex()


def b64_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret, message)).decode()


def require_equal(expected: str, presented: str | None, what: str) -> None:
    """Constant-time comparison; a missing value is a rejection, not an error."""
    if not presented or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise WebhookRejected(f"{what} does not match")


def require_fresh(timestamp: str | None, *, window_s: int = 300, unit: float = 1.0) -> None:
    """Replay protection: the signed timestamp must be within ``window_s`` of now."""
    if not timestamp:
        raise WebhookRejected("the signed timestamp header is missing")
    try:
        sent = float(timestamp) / unit
    except ValueError:
        raise WebhookRejected("the signed timestamp is not a number") from None
    if abs(time.time() - sent) > window_s:
        raise WebhookRejected(f"the signed timestamp is more than {window_s}s old")


def require_secret(secrets: dict, field: str, provider: str) -> str:
    value = secrets.get(field)
    if not value:
        raise WebhookRejected(f"no {field} is configured for this {provider} integration")
    return str(value)
