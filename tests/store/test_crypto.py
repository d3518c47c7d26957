"""Credentials: encrypted before the database, rotatable, tamper-evident."""

import os
import stat

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from store.crypto import SecretBox, load_keys, mask
from store.errors import SecretError
from store.models import Integration, IntegrationProvider
from tests.conftest import make_tenant
from tools.context import Services
from tools.keys import rotate_all

SECRET = {"access_token": "pat-na1-2f7c1c5e-very-secret", "refresh_token": "rt-abc-123"}


def test_round_trip() -> None:
    box = SecretBox([Fernet.generate_key().decode()])
    token = box.encrypt(SECRET)
    assert "very-secret" not in token
    assert box.decrypt(token) == SECRET


def test_tampered_value_is_a_clear_error_not_garbage() -> None:
    box = SecretBox([Fernet.generate_key().decode()])
    token = box.encrypt(SECRET)
    flipped = token[:30] + ("A" if token[30] != "A" else "B") + token[31:]
    with pytest.raises(SecretError, match="altered"):
        box.decrypt(flipped)


def test_value_under_a_dropped_key_cannot_be_read() -> None:
    old = SecretBox([Fernet.generate_key().decode()])
    with pytest.raises(SecretError, match="no longer in CONNECTUS_SECRET_KEYS"):
        SecretBox([Fernet.generate_key().decode()]).decrypt(old.encrypt(SECRET))


def test_key_file_is_created_once_and_private(tmp_path) -> None:
    first = load_keys((), tmp_path)
    second = load_keys((), tmp_path)
    assert first == second and len(first) == 1
    mode = stat.S_IMODE(os.stat(tmp_path / "secret.key").st_mode)
    assert mode == 0o600


def test_mask_hides_the_middle() -> None:
    assert mask("xoxb-1234567890-abcd") == "xox…abcd"
    assert "1234567890" not in mask("xoxb-1234567890-abcd")


async def _store_credential(services: Services) -> Integration:
    caller, _ = await make_tenant(services, "acme")
    async with services.db.transaction(caller.tenant_id) as session:
        provider = await session.scalar(
            select(IntegrationProvider).where(IntegrationProvider.name == "slack"))
        row = Integration(provider_id=provider.id, name="slack",
                          auth_credentials=services.vault.encrypt(SECRET))
        session.add(row)
    return row


async def test_no_plaintext_secret_anywhere_in_the_database(services: Services,
                                                            database_url: str) -> None:
    await _store_credential(services)
    with psycopg.connect(database_url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        dump = "".join(
            str(row) for table in tables
            for row in conn.execute(f'SELECT * FROM "{table}"').fetchall())
    assert "very-secret" not in dump and "rt-abc-123" not in dump
    assert "gAAAAA" in dump  # the Fernet token is what is stored


async def test_rotate_keys_re_encrypts_under_the_newest_key(services: Services,
                                                            secret_keys: list[str]) -> None:
    row = await _store_credential(services)
    newest = Fernet.generate_key().decode()
    services.vault = SecretBox([newest, *secret_keys])
    assert await rotate_all(services) == 1

    async with services.db.session(row.tenant_id) as session:
        stored = await session.scalar(select(Integration.auth_credentials))
    assert SecretBox([newest]).decrypt(stored) == SECRET
    with pytest.raises(SecretError):
        SecretBox(secret_keys).decrypt(stored)
