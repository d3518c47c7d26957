"""One HTTP client per worker process, shared by the connectors its workflow runs open.

A connector that makes its own ``httpx.AsyncClient`` pays for a fresh TLS context (the
CA bundle read and parsed, several milliseconds of CPU) and fresh connections to the
provider on every run; a workflow run opens two or three connectors and lives for tens
of milliseconds, so that was most of its cost. Shared, the context is built once and
connections to a provider are kept alive between runs.

Nothing that belongs to one tenant may live in it: each request carries its own auth
(``ProviderClient`` passes it per request), and the cookie jar refuses every cookie, so
a provider's ``Set-Cookie`` for one tenant's account is never sent with another's
request. Redirects are not followed (httpx's default), as for a connector's own client.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

CONNECTIONS = 100  # at once, over all the providers a worker talks to
KEEPALIVE_S = 30.0


def shared_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        cookies=no_cookies, timeout=30.0, transport=transport,
        limits=httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS,
                            keepalive_expiry=KEEPALIVE_S))
