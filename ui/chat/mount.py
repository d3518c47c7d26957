"""Mount the Chainlit chat at /chat on the server's FastAPI app.

Chainlit is one app per process (its config, callbacks and socket server are module
globals), so it is set up once; every later mount hands the same app to another
FastAPI app and points the chat at that app's services.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from fastapi import FastAPI

from tools.context import Services
from ui.chat import services as chat_services

ROOT = Path(__file__).resolve().parent  # Chainlit's app root: app.py, .chainlit/, public/
PATH = "/chat"
SECRET_FILE = "chainlit_auth_secret"

_mounted = False


def auth_secret(data_dir: Path) -> str:
    """CHAINLIT_AUTH_SECRET, else one generated once and kept in the data dir (readable
    only by its owner), so logins survive a restart."""
    given = os.environ.get("CHAINLIT_AUTH_SECRET", "").strip()
    if given:
        return given
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secret)
    return secret


def mount_chat(app: FastAPI, services: Services) -> None:
    global _mounted
    chat_services.use(services)
    os.environ["CHAINLIT_AUTH_SECRET"] = auth_secret(services.settings.data_dir)
    if _mounted:
        from chainlit.server import app as chainlit_app

        app.mount(PATH, chainlit_app)
        return
    from chainlit.utils import mount_chainlit

    mount_chainlit(app, target=str(ROOT / "app.py"), path=PATH)
    # Chainlit put our folder first on sys.path to load app.py; its module names (auth,
    # services, ...) must not shadow anyone's top-level packages
    if str(ROOT) in sys.path:
        sys.path.remove(str(ROOT))
    _mounted = True
