"""The per-tenant key of the hash rule."""

from __future__ import annotations

import hashlib
import uuid


def tenant_salt(tenant_id: uuid.UUID, secret: str) -> bytes:
    """Stable for a tenant as long as ``secret`` is (the installation's oldest encryption
    key); another tenant's hashes of the same values never match."""
    return hashlib.sha256(b"connectus.hash-rule|" + tenant_id.bytes + secret.encode()).digest()
