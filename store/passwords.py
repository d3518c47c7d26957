"""Chat passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory
profile), and the check that turns an e-mail and a password into a caller."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.accounts import Caller
from store.errors import AuthenticationFailed, ValidationFailed
from store.models import User

MIN_LENGTH = 8
REFUSED = "wrong e-mail or password"  # the same words whichever was wrong

_hasher = PasswordHasher()
# checked when the e-mail is unknown, so that a refusal takes as long either way
_NOBODY = _hasher.hash("no such user")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"must be at least {MIN_LENGTH} characters long",
                               field="password")
    return _hasher.hash(password)


def password_matches(stored: str, password: str) -> bool:
    return _matches(stored, password)


def _matches(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _NOBODY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def check_password(session: AsyncSession, email: str, password: str) -> Caller:
    """System session: the e-mail is what tells us the tenant. An e-mail may be a user of
    more than one tenant; the password picks which. Raises AuthenticationFailed."""
    users = list(await session.scalars(select(User).where(User.email == email.strip().lower())))
    if not users:
        _matches(None, password)  # as long as a wrong password takes
    for user in users:
        if _matches(user.password_hash, password):
            if _hasher.check_needs_rehash(user.password_hash or ""):
                user.password_hash = _hasher.hash(password)
            return Caller(tenant_id=user.tenant_id, user_id=user.id, role=user.role,
                          email=user.email)
    raise AuthenticationFailed(REFUSED)
