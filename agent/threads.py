"""Thread ids: the one a person sees, and the checkpointer's, which carries the tenant.

A tenant can name its threads as it likes; the checkpointer only ever sees
``{tenant_id}:{thread_id}`` with the tenant taken from the caller, so no tenant can read
or resume another's thread, whatever id it sends.
"""

from __future__ import annotations

import re
import uuid

from tools.context import Caller, ValidationFailed

THREAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_thread_id() -> str:
    return uuid.uuid4().hex


def thread_key(caller: Caller, thread_id: str) -> str:
    if not THREAD_ID.match(thread_id):
        raise ValidationFailed("letters, digits, '-' and '_', 1-64 of them", field="thread_id")
    return f"{caller.tenant_id}:{thread_id}"


def public_id(key: str) -> str:
    return key.split(":", 1)[-1]
