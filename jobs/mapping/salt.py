"""The per-tenant key of the hash rule."""

from __future__ import annotations

import uuid

from store.crypto import SecretBox


def tenant_salt(vault: SecretBox, tenant_id: uuid.UUID) -> bytes:
    """The same for every run and dry run of a tenant while the installation's oldest
    encryption key is kept; another tenant's hashes of the same values never match."""
    return vault.derive(b"hash-rule|" + tenant_id.bytes)
