"""Wire-level helpers several simulators share: timestamps, credentials, OAuth errors.

Only what more than one simulator renders identically lives here; anything a
provider shapes its own way stays in that provider's module.
"""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse


def same_secret(presented: object, expected: str) -> bool:
    """Constant-time and total: any presented value (None, non-ASCII) is just "no"."""
    return isinstance(presented, str) and hmac.compare_digest(
        presented.encode(), expected.encode())


def iso(ts: float, *, ms: bool = True, z: bool = True) -> str:
    """ISO-8601 UTC: ``2024-01-01T00:00:00.000Z`` (or ``+00:00`` when z=False)."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if ms:
        text += f".{int(dt.microsecond / 1000):03d}"
    return text + ("Z" if z else "+00:00")


def parse_iso(text: str) -> float:
    """Parse ISO-8601 as providers send it (``Z``, ``+00:00`` or ``+0000``)."""
    value = text.strip().replace("Z", "+00:00")
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    return datetime.fromisoformat(value).timestamp()


def bearer_token(request: Request, schemes: tuple[str, ...] = ("bearer",)) -> str | None:
    """The credential of ``Authorization: <scheme> <credential>`` for one of ``schemes``."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return (value.strip() or None) if scheme.lower() in schemes else None


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """``(client id, secret)`` from ``Authorization: Basic``, None without one; raises
    ValueError when it does not decode."""
    encoded = bearer_token(request, ("basic",))
    if encoded is None:
        return None
    client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    return client_id, secret


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    """RFC 6749's token-endpoint error body, as Google, Salesforce and Mailchimp send it."""
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def redirect_to(uri: str, params: dict[str, str]) -> RedirectResponse:
    """302 to ``uri`` with ``params`` added to whatever query it already carries."""
    sep = "&" if "?" in uri else "?"
    return RedirectResponse(uri + sep + urlencode(params), status_code=302)


async def post_webhook(url: str, headers: dict[str, str], body: bytes,
                       timeout_s: float = 5.0) -> httpx.Response:
    """POST one webhook delivery (the ``/_sandbox/webhooks/deliver`` control endpoints)."""
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        return await client.post(url, headers=headers, content=body)
