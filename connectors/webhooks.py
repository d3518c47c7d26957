"""Signature and secret checks shared by the providers' webhook verifiers, and the safe
readers their ``events`` use on a body that has been verified but may still be malformed.

Order of work for a delivery: verify (never parses more than the provider's scheme
needs, and never fails on any body other than by rejecting it), then read. A rejection
is a 401 (``WebhookRejected``); a verified body of the wrong shape is a 400
(``WebhookMalformed``) that says what is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

from store.errors import AuthenticationFailed, ValidationFailed


class WebhookRejected(AuthenticationFailed):
    code = "webhook_rejected"


class WebhookMalformed(ValidationFailed):
    """Authentic, but not the shape the provider documents: the sender must fix it, and
    retrying the same body cannot help."""

    code = "webhook_malformed"
    status = 400


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


# ASCII digits only: float() would take "nan" (never outside any window), "inf", "1e3" and
# "1.5"; int() would take Unicode digits and " 7". 16 digits is epoch milliseconds and more.
_INTEGER = re.compile(r"[0-9]{1,16}")


def require_fresh(timestamp: str | None, *, window_s: int = 300, unit: float = 1.0) -> None:
    """Replay protection: the signed timestamp, an integer count of ``1/unit`` seconds since
    the epoch, must be within ``window_s`` of now."""
    if not timestamp:
        raise WebhookRejected("the signed timestamp header is missing")
    if not _INTEGER.fullmatch(timestamp):
        raise WebhookRejected("the signed timestamp is not an integer")
    if abs(time.time() - int(timestamp) / unit) > window_s:
        raise WebhookRejected(f"the signed timestamp is more than {window_s}s old")


def require_secret(keys: dict, field: str, provider: str) -> str:
    value = keys.get(field)
    if not value:
        raise WebhookRejected(f"no {field} is configured for this {provider} integration")
    return str(value)


def json_body(body: bytes, provider: str) -> Any:
    if not body.strip():
        raise WebhookMalformed(f"the {provider} webhook body is empty")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise WebhookMalformed(f"the {provider} webhook body is not JSON") from None


def json_object(body: bytes, provider: str) -> dict[str, Any]:
    found = json_body(body, provider)
    if not isinstance(found, dict):
        raise WebhookMalformed(f"the {provider} webhook body must be a JSON object")
    return found


def objects(value: Any, what: str, provider: str) -> list[dict[str, Any]]:
    """``value`` as a list of JSON objects, or a 400 naming ``what`` it should have been."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise WebhookMalformed(f"{provider}: {what} must be an array of objects")
    return value


def identifier(value: Any, what: str, provider: str) -> str:
    """An event id as the provider sends it (string or number); anything else is a 400."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise WebhookMalformed(f"{provider}: the delivery has no usable {what}")
    return str(value)
