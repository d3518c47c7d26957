"""Hashing personal data: ``{"rule": "hash", "normalize": true}``.

HMAC-SHA256 keyed by the tenant's salt (given to ``compile_mappings``), so the same
e-mail hashes alike within a tenant, differently across tenants, and a table of
hashed common values from one tenant is useless for another.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from jobs.mapping.model import Params, Rule, register


@register
class Hash(Rule):
    name = "hash"
    params = ("normalize",)

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.normalize = params.flag("normalize", True)
        self.salt = b""

    def bind(self, salt: bytes) -> Callable[[Any], Any]:
        def apply(value: Any) -> Any:
            if value is None:
                return None
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            if self.normalize:
                text = text.strip().lower()
            return hmac.new(salt, text.encode("utf-8", "surrogatepass"),
                            hashlib.sha256).hexdigest()
        return apply

    def apply(self, value: Any) -> Any:
        return self.bind(self.salt)(value)
