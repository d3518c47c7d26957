"""Long-running entry points: `up` (everything), `serve` (web only), `worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Literal

import typer
import uvicorn

from connectors.egress import register_own_sandbox
from store.redact import redact_every_log
from tools.context import Settings
from tools.demo import seed_demo, seed_sandbox_integrations
from tools.runtime import running, sandbox_app, worker_for
from ui.api.app import create_app

log = logging.getLogger(__name__)


def _server(app: Any, host: str, port: int,
            lifespan: Literal["on", "off"] = "on") -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan=lifespan)
    redact_every_log()  # every logger's records, uvicorn's own and httpx's request URLs
    return uvicorn.Server(config)


async def serve_everything(settings: Settings, host: str, port: int,
                           sandbox_port: int | None) -> None:
    """`connectus up`: web app, an in-process worker and (unless disabled) the sandbox."""
    async with running(settings) as services:
        demo = await seed_demo(services, settings.demo_api_key)
        background: list[asyncio.Task[None]] = []
        sandbox = None
        if sandbox_port:
            sandbox = _server(sandbox_app(), "127.0.0.1", sandbox_port, lifespan="off")
            background.append(asyncio.create_task(sandbox.serve()))
            sandbox_url = f"http://127.0.0.1:{sandbox_port}"
            register_own_sandbox(sandbox_url)  # the one loopback URL integrations may use
            await seed_sandbox_integrations(services, demo, sandbox_url)
        worker = worker_for(services, handle_signals=False)
        background.append(asyncio.create_task(worker.async_run()))
        web = _server(create_app(services), host, port)
        url = f"http://{host}:{port}"
        typer.secho(f"\nConnectus is up at {url}", fg="green", bold=True)
        typer.echo(f"  API docs      {url}/docs")
        typer.echo(f"  demo API key  {demo.api_key}")
        typer.echo(f"  try           curl -H 'Authorization: Bearer {demo.api_key}' "
                   f"{url}/integrations/integrations/")
        if sandbox_port:
            typer.echo(f"  sandbox       http://127.0.0.1:{sandbox_port} (simulated providers)")
        typer.echo("  stop          Ctrl-C\n")
        try:
            await web.serve()
        finally:
            if sandbox is not None:
                sandbox.should_exit = True
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await worker.close()


async def serve_sandbox(host: str, port: int, seed: int) -> None:
    server = _server(sandbox_app(seed), host, port, lifespan="off")
    typer.secho(f"provider sandbox at http://{host}:{port}/{{provider}}/...", fg="green")
    await server.serve()


async def serve_web(settings: Settings, host: str, port: int) -> None:
    async with running(settings, migrate=False) as services:
        await _server(create_app(services), host, port).serve()


async def run_worker(settings: Settings) -> None:
    async with running(settings, migrate=False) as services:
        worker = worker_for(services)
        try:
            # arq turns SIGINT/SIGTERM into cancelling its main task: that is the shutdown
            with contextlib.suppress(asyncio.CancelledError):
                await worker.async_run()
        finally:
            await worker.close()
