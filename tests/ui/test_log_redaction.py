"""No credential reaches a log line, from any logger at any level: httpx logs every request
URL at INFO (Facebook's access_token travels in the query string), httpcore and authlib
log at DEBUG, and a failure may log its traceback."""

import io
import logging
import secrets
from typing import Any

import pytest

from connectors.registry import connector_spec
from connectors.sandbox.server import free_port
from ui.serve import _server

PROVIDERS = ("hubspot", "salesforce", "mailchimp", "slack", "google_ads", "facebook_ads",
             "zapier")
NOT_SECRET = {"client_id", "instance_url"}


def _canaries(provider: str, sandbox_url: str) -> tuple[dict[str, Any], list[str]]:
    """The provider's demo credentials with every secret replaced by a unique canary."""
    demo = connector_spec(provider).sandbox_demo["credentials"]
    credentials: dict[str, Any] = {}
    canaries = []
    for name, value in demo.items():
        if name in NOT_SECRET:
            credentials[name] = value.format(sandbox_url=sandbox_url)
            continue
        canary = f"cnry{secrets.token_hex(8)}"
        canaries.append(canary)
        if name == "api_key":  # Mailchimp's key names its data centre after the dash
            credentials[name] = f"{canary}-us1"
        elif name == "hook_url":
            credentials[name] = f"{sandbox_url}/zapier/hooks/catch/1234567/{canary}/"
        else:
            credentials[name] = canary
    if connector_spec(provider).auth.oauth is not None:
        refresh = f"cnry{secrets.token_hex(8)}"
        canaries.append(refresh)
        # the canary token is refused, so the refresh request is made and logged too
        credentials["refresh_token"] = refresh
    return credentials, canaries


@pytest.fixture
def production_logging(caplog: pytest.LogCaptureFixture):
    """Logging as `connectus serve` sets it up, a real handler, and caplog, all at DEBUG."""
    _server(object(), "127.0.0.1", free_port())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "authlib", "uvicorn", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield lambda: stream.getvalue() + "\n" + caplog.text + "\n".join(
        str(r.__dict__) for r in caplog.records)
    root.removeHandler(handler)
    for name in ("httpx", "httpcore", "authlib", "uvicorn", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.NOTSET)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_no_credential_reaches_any_log_after_test_connection(
        api, tenant, sandbox, production_logging, provider: str) -> None:
    _, key = tenant
    demo = connector_spec(provider).sandbox_demo
    credentials, canaries = _canaries(provider, sandbox.url)
    created = await api.post("/integrations/integrations/", headers={
        "Authorization": f"Bearer {key}"}, json={
        "provider": provider, "name": provider, "credentials": credentials,
        "settings": {**demo["settings"], "sandbox_url": sandbox.url}})
    assert created.status_code == 201, created.text
    tested = await api.post(
        f"/integrations/integrations/{created.json()['id']}/test_connection/",
        headers={"Authorization": f"Bearer {key}"})
    assert tested.status_code == 200, tested.text
    logged = production_logging()
    assert "HTTP Request" in logged  # httpx did log the calls
    leaked = [c for c in canaries if c in logged]
    assert leaked == [], f"{provider} logged {leaked}: {logged[:3000]}"


def test_a_secret_in_a_traceback_or_a_non_string_argument_is_redacted(
        production_logging) -> None:
    import httpx

    log = logging.getLogger("tests.redaction")
    url = httpx.URL("https://graph.example/v1?access_token=cnrysecret1&x=1")
    log.info("calling %s", url)  # a URL object, as httpx passes it
    log.warning("dict %(u)s", {"u": url})
    try:
        raise RuntimeError("failed for https://x.example/?api_key=cnrysecret2")
    except RuntimeError:
        log.exception("boom")
    logged = production_logging()
    assert "cnrysecret1" not in logged and "cnrysecret2" not in logged
    assert "access_token=[redacted]" in logged and "calling" in logged
