"""Connectors found by name: one module per provider in connectors/providers/."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from connectors import providers as providers_package


@cache
def connector_names() -> tuple[str, ...]:
    return tuple(sorted(info.name for info in pkgutil.iter_modules(providers_package.__path__)
                        if not info.name.startswith("_")))


def connector_spec(name: str) -> Any | None:
    """The provider's declarative spec, or None when no connector module exists for it."""
    if name not in connector_names():
        return None
    return importlib.import_module(f"connectors.providers.{name}").SPEC
