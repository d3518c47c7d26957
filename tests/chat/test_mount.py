"""The chat mounted on the web app `up` and `serve` run: its page, its login, its secret."""

from __future__ import annotations

import os
import stat

import httpx

from tests.conftest import make_tenant
from tools.context import Services
from tools.demo import DEMO_EMAIL, seed_demo, set_demo_password
from ui.chat.mount import SECRET_FILE, auth_secret
from ui.serve import web_app


async def test_the_web_app_serves_the_chat_and_its_password_login(services: Services):
    demo = await seed_demo(services)
    password = await set_demo_password(services, demo)
    _, key = await make_tenant(services, "acme")
    transport = httpx.ASGITransport(app=web_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://cx.test") as client:
        page = await client.get("/chat/")
        assert page.status_code == 200 and "/chat/assets/" in page.text
        wrong = await client.post("/chat/login", data={"username": DEMO_EMAIL,
                                                       "password": password + "x"})
        assert wrong.status_code == 401
        unknown = await client.post("/chat/login", data={"username": "no@one.example",
                                                         "password": password})
        assert unknown.status_code == 401 and unknown.json() == wrong.json()
        right = await client.post("/chat/login", data={"username": DEMO_EMAIL,
                                                       "password": password})
        assert right.status_code == 200 and right.cookies
        me = await client.get("/chat/user")
        assert me.status_code == 200
        assert me.json()["metadata"]["tenant_id"] == str(demo.tenant.id)
        assert me.json()["metadata"]["role"] == "owner"
        # REST beside it, unchanged
        rest = await client.get("/integrations/providers/",
                                headers={"Authorization": f"Bearer {key}"})
        assert rest.status_code == 200


def test_the_auth_secret_is_made_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    first = auth_secret(tmp_path)
    assert auth_secret(tmp_path) == first and len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / SECRET_FILE).st_mode) == 0o600
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "from-the-environment")
    assert auth_secret(tmp_path) == "from-the-environment"
