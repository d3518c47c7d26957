"""One HTTP client per worker process, shared by the connectors its workflow runs open.

A connector that makes its own ``httpx.AsyncClient`` pays for a fresh TLS context (the
CA bundle read and parsed, several milliseconds of CPU) and fresh connections to the
provider on every run; a workflow run opens two or three connectors and lives for tens
of milliseconds, so that was most of its cost. Shared, the context is built once and
connections to a provider are kept alive between runs.

Nothing that belongs to one tenant may live in it: each request carries its own auth
(``ProviderClient`` passes it per request), and neither httpx (``CookielessClient``)
nor aiohttp (a dummy jar) keeps a cookie, so a provider's ``Set-Cookie`` for one
tenant's account is never sent with another's request. Redirects are not followed
(httpx's default), as for a connector's own client.

httpx's API over aiohttp's pool, as a connector's own client has (connectors/http.py):
httpcore's pool looks at every kept connection on each request (is it idle, has its
socket been closed: a ``getpeername`` each), and with the many connections a worker's
concurrent runs keep to Slack that scan was a fifth of a worker's profile (py-spy).
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from connectors.http import CookielessClient

CONNECTIONS = 100  # at once, over all the providers a worker talks to
KEEPALIVE_S = 30.0


def shared_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    return CookielessClient(timeout=30.0,
                            transport=transport or AiohttpTransport(client=_session))


def _session() -> aiohttp.ClientSession:
    """Made on the first request, inside the worker's event loop."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTIONS, keepalive_timeout=KEEPALIVE_S,
                                       ssl=httpx.create_ssl_context()),  # certifi's, as httpx
        cookie_jar=aiohttp.DummyCookieJar())
