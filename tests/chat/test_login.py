"""Chat login: argon2 passwords mapped to a tenant's user; one refusal for every wrong
pair; the demo owner's password fixed by CONNECTUS_DEMO_PASSWORD or new each start."""

from __future__ import annotations

import pytest

from store.models import Role, User
from store.passwords import REFUSED, hash_password
from tests.conftest import make_tenant
from tools import chat_login
from tools.context import AuthenticationFailed, Services, ValidationFailed
from tools.demo import DEMO_EMAIL, seed_demo, set_demo_password


async def _set_password(services: Services, caller, password: str) -> None:
    async with services.db.transaction(caller.tenant_id) as session:
        user = await session.get(User, caller.user_id)
        user.password_hash = hash_password(password)


async def test_the_right_password_logs_in_as_that_tenants_user(services: Services):
    acme, _ = await make_tenant(services, "acme", Role.member)
    await _set_password(services, acme, "correct horse")
    caller = await chat_login.log_in(services, acme.email.upper(), "correct horse")
    assert (caller.tenant_id, caller.user_id, caller.role) == (acme.tenant_id, acme.user_id,
                                                               Role.member)
    async with services.db.session(acme.tenant_id) as session:
        stored = (await session.get(User, acme.user_id)).password_hash
    assert stored.startswith("$argon2id$") and "correct horse" not in stored


async def test_a_wrong_password_and_an_unknown_email_get_the_same_refusal(services: Services):
    acme, _ = await make_tenant(services, "acme")
    await _set_password(services, acme, "correct horse")
    refusals = []
    for email, password in ((acme.email, "wrong horse"), ("nobody@acme.example", "x" * 12),
                            (acme.email, ""), ("", "correct horse")):
        with pytest.raises(AuthenticationFailed) as refused:
            await chat_login.log_in(services, email, password)
        refusals.append(str(refused.value))
    assert set(refusals) == {REFUSED}


async def test_a_user_without_a_password_cannot_log_in(services: Services):
    acme, _ = await make_tenant(services, "acme")
    with pytest.raises(AuthenticationFailed):
        await chat_login.log_in(services, acme.email, "anything-at-all")


async def test_the_same_email_in_two_tenants_logs_in_where_the_password_fits(
        services: Services):
    acme, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    async with services.db.transaction(other.tenant_id) as session:
        user = await session.get(User, other.user_id)
        user.email = acme.email
        user.password_hash = hash_password("the other one")
    await _set_password(services, acme, "the acme one")
    assert (await chat_login.log_in(services, acme.email, "the other one")).tenant_id == \
        other.tenant_id
    assert (await chat_login.log_in(services, acme.email, "the acme one")).tenant_id == \
        acme.tenant_id


def test_a_short_password_is_refused_by_name():
    with pytest.raises(ValidationFailed) as refused:
        hash_password("short")
    assert str(refused.value) == "password: must be at least 8 characters long"


async def test_demo_password_is_fixed_by_setting_or_new_each_start(services: Services):
    demo = await seed_demo(services)
    await set_demo_password(services, demo, "fixed-demo-password")
    assert (await chat_login.log_in(services, DEMO_EMAIL, "fixed-demo-password")).user_id == \
        demo.owner.id
    first = await set_demo_password(services, demo)
    second = await set_demo_password(services, demo)
    assert first != second
    with pytest.raises(AuthenticationFailed):
        await chat_login.log_in(services, DEMO_EMAIL, first)
    await chat_login.log_in(services, DEMO_EMAIL, second)


async def test_the_session_caller_reads_the_role_afresh(services: Services):
    acme, _ = await make_tenant(services, "acme", Role.admin)
    async with services.db.transaction(acme.tenant_id) as session:
        (await session.get(User, acme.user_id)).role = Role.viewer
    caller = await chat_login.caller_for(services, acme.tenant_id, acme.user_id)
    assert caller.role == Role.viewer
    other, _ = await make_tenant(services, "other")
    with pytest.raises(AuthenticationFailed):  # a user id under another tenant
        await chat_login.caller_for(services, other.tenant_id, acme.user_id)
