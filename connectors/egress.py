"""Where Connectus may send a request carrying a credential: public addresses only.

A URL an admin typed (``settings.base_url``, ``settings.sandbox_url``) or a provider
handed back (Salesforce's ``instance_url``) could point at this host, the private
network or a cloud metadata service, and a connection test would send the stored
token there and echo part of the answer. ``check_public_url`` refuses such a URL by
what its host resolves to, so ``localhost`` or a name pointing at 127.0.0.1 is
loopback. Two ways round it: the sandbox this process started (registered with
``register_own_sandbox``) and ``CONNECTUS_ALLOW_PRIVATE_URLS=true``, for a staging
setup whose mock provider sits on a private address.

Checked when a URL is saved and again when a connector is opened; the same check will
guard the workflows' HTTP-request action. httpx follows no redirects by default and the
connectors keep it so; next links must stay on the checked host (connectors/http.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from store.errors import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# instance metadata endpoints: AWS (v4 and v6), GCP and Azure share 169.254.169.254,
# AWS ECS task metadata, Alibaba, Oracle's v6 address
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200",
    "fd00:c1::a9fe:a9fe"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 addresses embedded in IPv6
DEFAULT_PORTS = {"http": 80, "https": 443}
HINT = "set CONNECTUS_ALLOW_PRIVATE_URLS=true to allow private addresses"

_own_sandboxes: set[str] = set()


class EgressRefused(ValidationFailed):
    """A URL Connectus will not send credentials to; the field names where it came from."""

    code = "private_url"


def origin(url: str) -> str:
    """``scheme://host:port`` with the default port spelled out, for comparing URLs."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def register_own_sandbox(url: str) -> None:
    """The provider sandbox this process started (`connectus up`, the tests' fixture):
    integrations may point at it although it listens on loopback."""
    _own_sandboxes.add(origin(url))


def forget_own_sandbox(url: str) -> None:
    _own_sandboxes.discard(origin(url))


def own_sandboxes() -> frozenset[str]:
    return frozenset(_own_sandboxes)


def why_not_public(address: Address) -> str | None:
    """Why a request must not go to ``address``, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in METADATA:
        return "a cloud metadata address"
    for kind, test in (("an unspecified", address.is_unspecified),
                       ("a loopback", address.is_loopback),
                       ("a link-local", address.is_link_local),
                       ("a multicast", address.is_multicast),
                       ("a private", address.is_private),
                       ("a reserved", address.is_reserved)):
        if test:
            return f"{kind} address"
    return None if address.is_global else "not a public address"


async def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to, as the connection would see them; numeric forms
    such as ``2130706433`` or ``127.1`` are read the way the socket library reads them."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # an IPv6 scope ("fe80::1%eth0") is not part of the address
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check_public_url(url: str, *, field: str, allow_private: bool,
                           allowed: Iterable[str] = ()) -> None:
    """Raise EgressRefused unless ``url`` is http(s) to a host whose every address is
    public. ``allowed`` holds origins let through as they are (this process's sandbox)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise EgressRefused("must be an http:// or https:// URL with a host", field=field)
    if allow_private or origin(url) in {origin(a) for a in allowed}:
        return
    host = parts.hostname
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
    except ValueError:
        raise EgressRefused("has a port that is not a number from 0 to 65535",
                            field=field) from None
    try:
        addresses: list[Address] = [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:  # a name, or a number such as 2130706433 only the resolver reads
        try:
            addresses = await resolve(host, port)
        except (OSError, UnicodeError, ValueError):
            # it cannot be reached either: the call itself fails, as the outage it is
            return
    for address in addresses:
        why = why_not_public(address)
        if why is not None:
            shown = host if str(address) == host.strip("[]") else f"{host} ({address})"
            raise EgressRefused(f"{shown} is {why}; {HINT}", field=field)
