"""http_request: one HTTP call to a public address, templated.

The URL is checked by the egress guard (connectors/egress.py) on save when it is plain
text and again, after templating, before every call: loopback, private, link-local and
cloud-metadata addresses are refused (unless CONNECTUS_ALLOW_PRIVATE_URLS is set, or
the address is this process's own sandbox). Redirects are not followed, so a public
URL cannot bounce the call to a private one. 408, 429 and 5xx answers and unreachable
hosts are transient (retried with backoff); any other 4xx stops the run.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import Field

from connectors.egress import check_public_url, own_sandboxes
from jobs.workflows.actions.base import ActionContext, ActionRefused, ActionSpec, Directory, Params
from jobs.workflows.templates import is_template
from store.errors import TransientError, ValidationFailed

MAX_RESPONSE = 64 * 1024
MAX_RETRY_AFTER_S = 3600
USER_AGENT = "Connectus-Workflows/1"


class HttpParams(Params):
    templated: ClassVar[frozenset[str]] = frozenset({"url", "headers", "json_body", "body"})

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(min_length=1, max_length=2048, description="http(s) URL, templated")
    headers: dict[str, str] = Field(default_factory=dict, description="templated")
    json_body: Any = Field(None, description="a JSON body, templated")
    body: str | None = Field(None, max_length=MAX_RESPONSE, description=(
        "or a text body, templated"))
    timeout_s: float = Field(10.0, gt=0, le=30)


def resolve(params: dict[str, Any], directory: Directory, field: str) -> dict[str, Any]:
    url = params.get("url")
    if isinstance(url, str) and not is_template(url):
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValidationFailed("must be an http:// or https:// URL with a host",
                                   field=f"{field}.url")
    if params.get("json_body") is not None and params.get("body") is not None:
        raise ValidationFailed("give json_body or body, not both", field=f"{field}.body")
    if any(name.lower() in ("host", "content-length") for name in params.get("headers", {})):
        raise ValidationFailed("Host and Content-Length are set by Connectus",
                               field=f"{field}.headers")
    return {}


async def http_request(ctx: ActionContext, params: HttpParams) -> dict[str, Any]:
    await check_public_url(params.url, field=f"{ctx.field}.url",
                           allow_private=bool(ctx.services.get("allow_private")),
                           allowed=own_sandboxes())
    headers = {"User-Agent": USER_AGENT, **params.headers}
    content = params.body.encode() if params.body is not None else None
    try:
        async with httpx.AsyncClient(follow_redirects=False, timeout=params.timeout_s) as http, \
                http.stream(params.method, params.url, headers=headers, content=content,
                            json=params.json_body if content is None else None) as response:
            raw = b""
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) >= MAX_RESPONSE:
                    break
    except httpx.TransportError as exc:
        raise TransientError(f"{ctx.field}: {urlsplit(params.url).hostname} could not be "
                             f"reached ({type(exc).__name__})") from None
    status = response.status_code
    if status in (408, 429) or status >= 500:
        raise TransientError(f"{ctx.field}: the server answered {status}",
                             retry_after=_retry_after(response))
    if status >= 300:
        where = f" (Location: {response.headers['location']})" if 300 <= status < 400 \
            and "location" in response.headers else ""
        raise ActionRefused(f"{ctx.field}: the server answered {status}{where}"
                            + ("; redirects are not followed" if where else ""))
    return {"status": status, "content_type": response.headers.get("content-type"),
            "body": _body(raw[:MAX_RESPONSE], response.headers.get("content-type", ""))}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return min(float(value), MAX_RETRY_AFTER_S) if value.isdigit() else None


def _body(raw: bytes, content_type: str) -> Any:
    text = raw.decode(errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


ACTION = ActionSpec("http_request", "Call an HTTP endpoint on a public address", HttpParams,
                    http_request, resolve)
