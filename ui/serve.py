"""Long-running entry points: `up` (everything), `serve` (web only), `worker`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from typing import Any, Literal

import typer
import uvicorn

from tools.context import ConfigError, Settings
from tools.demo import seed_demo, seed_sandbox_integrations, set_demo_password
from tools.demo_history import seed_demo_history
from tools.runtime import (
    announce_own_sandbox,
    redact_every_log,
    running,
    sandbox_app,
    worker_for,
)
from tools.slack_workspaces import point_sandbox_slack_at, sandbox_signing_secret

log = logging.getLogger(__name__)


class PortInUse(ConfigError):
    code = "port_in_use"


def bind(host: str, port: int, flag: str, make_var: str) -> socket.socket:
    """Listen before anything is started, seeded or printed, so that a busy port costs
    nothing: no embedded database, no new demo key (which revokes the last one)."""
    try:
        listening = socket.create_server((host, port))
    except OSError as exc:
        raise PortInUse(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose "
                        f"another port with {flag} (make run {make_var}=...)") from None
    # inherited by every accepted connection. asyncio sets it only on sockets made with
    # proto=TCP, and create_server's have proto 0: without it each answer whose body
    # follows its headers waits on the client's delayed ACK, 40 ms a response
    listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listening


def web_app(services: Any) -> Any:
    """REST and the chat at /chat, one app: what `up` and `serve` both run. Imported here,
    not at the top: a worker never loads the web app, the agent or Chainlit."""
    from ui.api.app import create_app
    from ui.chat.mount import mount_chat

    app = create_app(services)
    mount_chat(app, services)
    return app


def _server(app: Any, host: str, port: int,
            lifespan: Literal["on", "off"] = "on") -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan=lifespan)
    redact_every_log()  # every logger's records, uvicorn's own and httpx's request URLs
    return uvicorn.Server(config)


async def serve_everything(settings: Settings, host: str, port: int,
                           sandbox_port: int | None) -> None:
    """`connectus up`: web app, an in-process worker and (unless disabled) the sandbox."""
    # loaded before listening (as ever), but never by a worker
    import ui.api.app
    import ui.chat.mount  # noqa: F401

    web_socket = bind(host, port, "--port", "PORT")
    with contextlib.ExitStack() as sockets:
        sockets.enter_context(web_socket)
        sandbox_socket = sockets.enter_context(
            bind("127.0.0.1", sandbox_port, "--sandbox-port", "SANDBOX_PORT")) \
            if sandbox_port is not None else None  # 0: any free port
        await _serve_everything(settings, host, port, web_socket, sandbox_socket)


async def _serve_everything(settings: Settings, host: str, port: int,
                            web_socket: socket.socket,
                            sandbox_socket: socket.socket | None) -> None:
    from ui.slack import EVENTS_PATH as SLACK_EVENTS

    if sandbox_socket is not None and not settings.slack_signing_secret:
        # the demo's Slack workspace is the simulator: its events are signed as it signs
        settings = dataclasses.replace(settings, slack_signing_secret=sandbox_signing_secret())
    async with running(settings) as services, contextlib.AsyncExitStack() as stack:
        demo = await seed_demo(services, settings.demo_api_key)
        await set_demo_password(services, demo, settings.demo_password)
        background: list[asyncio.Task[None]] = []
        sandbox = None
        if sandbox_socket is not None:
            sandbox_port = sandbox_socket.getsockname()[1]
            simulators = sandbox_app()
            point_sandbox_slack_at(
                simulators, f"http://127.0.0.1:{web_socket.getsockname()[1]}{SLACK_EVENTS}")
            sandbox = _server(simulators, "127.0.0.1", sandbox_port, lifespan="off")
            background.append(asyncio.create_task(sandbox.serve(sockets=[sandbox_socket])))
            sandbox_url = f"http://127.0.0.1:{sandbox_port}"
            # the one loopback URL integrations may use
            stack.enter_context(announce_own_sandbox(settings.data_dir, sandbox_url))
            await seed_sandbox_integrations(services, demo, sandbox_url)
            await seed_demo_history(services, demo.tenant.id, demo.owner.id)
        worker = worker_for(services, handle_signals=False)
        background.append(asyncio.create_task(worker.async_run()))
        web = _server(web_app(services), host, port)
        url = f"http://{host}:{web_socket.getsockname()[1]}"  # the port bound, if 0 was asked
        typer.secho(f"\nConnectus is up at {url}", fg="green", bold=True)
        typer.echo(f"  chat          {url}/chat  (log in as {demo.owner.email} / "
                   f"{demo.password})")
        typer.echo(f"  API docs      {url}/docs (OpenAPI at {url}/openapi.json)")
        typer.echo(f"  metrics       {url}/metrics (Prometheus)")
        typer.echo(f"  MCP           {url}/mcp (streamable HTTP, Bearer API key; "
                   "docs/mcp.md)")
        typer.echo(f"  Slack events  {url}{SLACK_EVENTS}" + (
            "" if settings.slack_signing_secret else
            " (off: set CONNECTUS_SLACK_SIGNING_SECRET, see docs/slack.md)"))
        typer.echo(f"  demo API key  {demo.api_key}")
        typer.echo(f"  try           curl -H 'Authorization: Bearer {demo.api_key}' "
                   f"{url}/integrations/integrations/")
        if sandbox is not None:
            typer.echo(f"  sandbox       {sandbox_url} (simulated providers)")
        typer.echo("  stop          Ctrl-C\n")
        try:
            await web.serve(sockets=[web_socket])
        finally:
            if sandbox is not None:
                sandbox.should_exit = True
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await worker.close()


async def serve_sandbox(host: str, port: int, seed: int) -> None:
    with bind(host, port, "--port", "SANDBOX_PORT") as listening:
        server = _server(sandbox_app(seed), host, port, lifespan="off")
        typer.secho(f"provider sandbox at http://{host}:{port}/{{provider}}/...", fg="green")
        await server.serve(sockets=[listening])


async def serve_web(settings: Settings, host: str, port: int) -> None:
    # loaded before listening (as ever), but never by a worker
    import ui.api.app
    import ui.chat.mount  # noqa: F401

    with bind(host, port, "--port", "PORT") as listening:
        async with running(settings, migrate=False) as services:
            await _server(web_app(services), host, port).serve(sockets=[listening])


async def run_worker(settings: Settings) -> None:
    async with running(settings, migrate=False) as services:
        worker = worker_for(services)
        try:
            # arq turns SIGINT/SIGTERM into cancelling its main task: that is the shutdown
            with contextlib.suppress(asyncio.CancelledError):
                await worker.async_run()
        finally:
            await worker.close()
