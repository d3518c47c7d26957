"""The running services the chat acts with. Chainlit loads app.py itself, so the server
that mounts it leaves the services here first (ui/chat/mount.py)."""

from __future__ import annotations

from tools.context import ConfigError, Services

_services: Services | None = None


def use(services: Services) -> None:
    global _services
    _services = services


def current() -> Services:
    if _services is None:
        raise ConfigError("the chat was loaded without services: mount it with "
                          "ui.chat.mount.mount_chat(app, services)")
    return _services
