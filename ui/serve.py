"""Long-running entry points: `up` (everything), `serve` (web only), `worker`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import typer
import uvicorn

from jobs.worker import build_worker
from store.settings import Settings
from tools.demo import seed_demo
from ui.api.app import create_app
from ui.runtime import running

log = logging.getLogger(__name__)


def _server(app: object, host: str, port: int) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info",
                                         lifespan="on"))


async def serve_everything(settings: Settings, host: str, port: int, sandbox_port: int) -> None:
    async with running(settings) as services:
        demo = await seed_demo(services, settings.demo_api_key)
        worker = build_worker(services.extras["redis_url"],
                              {"db": services.db, "secrets": services.secrets},
                              handle_signals=False)
        worker_task = asyncio.create_task(worker.async_run())
        web = _server(create_app(services), host, port)
        url = f"http://{host}:{port}"
        typer.secho(f"\nConnectus is up at {url}", fg="green", bold=True)
        typer.echo(f"  API docs      {url}/docs")
        typer.echo(f"  demo API key  {demo.api_key}")
        typer.echo(f"  try           curl -H 'Authorization: Bearer {demo.api_key}' "
                   f"{url}/integrations/providers/")
        typer.echo("  stop          Ctrl-C\n")
        try:
            await web.serve()
        finally:
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
            await worker.close()


async def serve_web(settings: Settings, host: str, port: int) -> None:
    async with running(settings, migrate=False) as services:
        await _server(create_app(services), host, port).serve()


async def run_worker(settings: Settings) -> None:
    async with running(settings, migrate=False) as services:
        worker = build_worker(services.extras["redis_url"],
                              {"db": services.db, "secrets": services.secrets})
        try:
            await worker.async_run()
        finally:
            await worker.close()
