"""The sandbox: every provider simulator in one ASGI app, each under ``/{provider}``.

Each simulator also gets control endpoints under ``/{provider}/_sandbox``:
``GET .../state`` (call counts, fault knobs), ``POST .../faults`` (set knobs),
``POST .../reset`` (forget writes, tokens and counters) and
``POST .../webhooks/deliver`` (``{"url", "payload"}``: the simulator's
``webhook_delivery`` builds the provider's signed request and it is POSTed to
the URL, within the provider's answer deadline ``WEBHOOK_TIMEOUT_S``).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from connectors import sandbox as sandbox_package
from connectors.sandbox.kit import Faults, ProviderSandbox, Simulator
from connectors.sandbox.kit.wire import post_webhook


def simulators() -> dict[str, Simulator]:
    """Every subpackage that fulfils the simulator contract: adding one is adding a package.

    The shared kit is a subpackage too; it does not expose the contract, so it is skipped.
    """
    found: dict[str, Simulator] = {}
    for info in pkgutil.iter_modules(sandbox_package.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{sandbox_package.__name__}.{info.name}")
        if isinstance(module, Simulator):
            found[info.name] = module
    return dict(sorted(found.items()))


class Delivery(BaseModel):
    url: str
    payload: Any = None


def _control_router(box: ProviderSandbox[Any], simulator: Simulator) -> APIRouter:
    router = APIRouter(prefix="/_sandbox", tags=["sandbox control"])
    timeout_s = float(getattr(simulator, "WEBHOOK_TIMEOUT_S", 10.0))

    @router.get("/state")
    async def state() -> dict[str, Any]:
        return {"provider": box.name, "calls": box.calls, "data_calls": box.data_calls,
                "faults": box.faults.model_dump(), "seed": box.seed}

    @router.post("/faults")
    async def set_faults(faults: Faults) -> dict[str, Any]:
        box.set_faults(faults)
        return {"faults": box.faults.model_dump()}

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        box.reset()
        return {"reset": True}

    @router.post("/webhooks/deliver")
    async def deliver(delivery: Delivery) -> JSONResponse:
        headers, body = simulator.webhook_delivery(box, delivery.url, delivery.payload)
        try:
            sent = await post_webhook(delivery.url, headers, body, timeout_s=timeout_s)
        except httpx.HTTPError as exc:
            return JSONResponse({"status_code": None, "error": repr(exc)}, status_code=502)
        return JSONResponse({"status_code": sent.status_code,
                             "response_body": sent.text[:2000]})

    return router


def create_app(*, seed: int = 7, faults: dict[str, Faults] | None = None,
               counts: dict[str, dict[str, int]] | None = None,
               only: list[str] | None = None) -> FastAPI:
    """Build the sandbox app. ``counts`` overrides record counts per provider and object."""
    app = FastAPI(title="Connectus provider sandbox", docs_url="/_docs", redoc_url=None)
    boxes: dict[str, ProviderSandbox[Any]] = {}
    found = simulators()
    for name in only or list(found):
        module = found[name]
        box = ProviderSandbox(name, module.State, seed=seed, faults=(faults or {}).get(name),
                              counts=(counts or {}).get(name))
        boxes[name] = box
        app.include_router(_control_router(box, module), prefix=f"/{name}")
        app.include_router(module.create_router(box), prefix=f"/{name}")
    app.state.sandboxes = boxes
    return app
