"""ask_connectus is rate limited per API key, in Redis (CONNECTUS_ASK_RATE_LIMIT): past
the limit a 429 in the one error shape with Retry-After; another key, even of the same
user, has its own window; the other routes are not limited; an unknown key stays a 401."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from redis import Redis

from tests.conftest import make_tenant, second_key
from tools.context import Services, TransientError
from ui.api.app import create_app
from ui.api.rate_limit import NAMESPACE, AskLimiter

ASK = "/integrations/connectus/ask_connectus/"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_past_its_rate_gets_a_429_with_retry_after(
        services: Services, redis_url: str) -> None:
    limited = dataclasses.replace(services, settings=dataclasses.replace(
        services.settings, ask_rate_limit="2/minute"), extras={})
    caller, key = await make_tenant(services, "acme")
    other_key = await second_key(services, caller)
    transport = httpx.ASGITransport(app=create_app(limited))
    async with httpx.AsyncClient(transport=transport, base_url="http://connectus.test") as api:
        question = {"query": "How healthy are my integrations?"}
        for _ in range(2):
            answered = await api.post(ASK, json=question, headers=_auth(key))
            assert answered.status_code == 200, answered.text
        refused = await api.post(ASK, json=question, headers=_auth(key))
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "rate_limited" and "2 per 1 minute" in error["message"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await api.post(ASK, json=question, headers=_auth(other_key))).status_code \
            == 200
        assert (await api.get("/integrations/integrations/",
                              headers=_auth(key))).status_code == 200
        unknown = await api.post(ASK, json=question, headers=_auth("cx_not-a-key"))
        assert unknown.status_code == 401
    # the window lives in Redis, where every web replica counts against it; by a hash only
    stored = [k.decode() for k in Redis.from_url(redis_url).keys(f"{NAMESPACE}*")]
    assert stored and not any(key in k or other_key in k for k in stored)


async def test_an_unreachable_redis_is_a_503_to_retry_not_a_crash() -> None:
    limiter = AskLimiter("redis://127.0.0.1:1/0", "2/minute")  # nothing listens on port 1
    with pytest.raises(TransientError) as raised:
        await limiter.hit("cx_some-key")
    assert raised.value.status == 503 and raised.value.retry_after == 5
