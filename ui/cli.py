"""`connectus`: bring Connectus up, or run one part of it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvloop

from tools.context import ConnectusError, Settings
from tools.runtime import redact_every_log

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Connectus: an AI agent that manages your third-party integrations.")

HostOpt = Annotated[str, typer.Option(help="interface to listen on")]
PortOpt = Annotated[int, typer.Option(help="port to listen on")]


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConnectusError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        raise typer.Exit(2) from None


def _run(coro: object) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    redact_every_log()  # before anything logs: httpx writes full request URLs at INFO
    try:
        uvloop.run(coro)  # type: ignore[arg-type]  # libuv's loop: less CPU a wake-up
    except ConnectusError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


@app.command()
def up(host: HostOpt = "127.0.0.1", port: PortOpt = 8000,
       sandbox_port: Annotated[int, typer.Option(help="port of the provider sandbox")] = 8765,
       sandbox: Annotated[bool, typer.Option(help="start the provider sandbox and point the "
                                             "demo integrations at it")] = True,
       ) -> None:
    """Everything on one machine: services, migrations, demo tenant, sandbox, web, worker."""
    from ui.serve import serve_everything

    _run(serve_everything(_settings(), host, port, sandbox_port if sandbox else None))


@app.command("sandbox")
def sandbox_command(host: HostOpt = "127.0.0.1", port: PortOpt = 8765,
                    seed: Annotated[int, typer.Option(help="data seed")] = 7) -> None:
    """Serve the simulators of all seven providers under /{provider}/..."""
    from ui.serve import serve_sandbox

    _run(serve_sandbox(host, port, seed))


@app.command()
def serve(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """The web app alone (no worker, no demo): for replicas behind a load balancer."""
    from ui.serve import serve_web

    _run(serve_web(_settings(), host, port))


@app.command()
def worker() -> None:
    """An arq worker. Run as many as you like against the same DATABASE_URL and REDIS_URL."""
    from ui.serve import run_worker

    _run(run_worker(_settings()))


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Bring the database schema up to date (or to REVISION)."""
    from tools.runtime import running

    async def main() -> None:
        from tools.runtime import migrate_to

        async with running(_settings(), migrate=False, queue=False) as services:
            await migrate_to(services, revision)
            typer.echo(f"database at {revision}")

    _run(main())


@app.command()
def sync(flow: Annotated[str, typer.Argument(help="the data flow's id or (unique) name")],
         json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
         ) -> None:
    """Run one data flow now, in the foreground (no worker needed), and sum it up."""
    from ui.sync_progress import sync_with_progress

    _run(sync_with_progress(_settings(), flow, json_out=json_out))


bench = typer.Typer(no_args_is_help=True, help="Benchmarks, each printing one JSON object.")
app.add_typer(bench, name="bench")


@bench.command("sync")
def bench_sync(records: Annotated[int, typer.Option(min=1, help="sandbox contacts to sync")]
               = 100_000,
               rounds: Annotated[int, typer.Option(min=1, help="rounds; medians reported")] = 1,
               keep: Annotated[bool, typer.Option(help="keep the bench tenant and dlt's "
                                                  "tables to look at")] = False,
               profile: Annotated[Path | None, typer.Option(
                   help="write a cProfile of the Connectus side to this file")] = None,
               json_out: Annotated[bool, typer.Option("--json", help="one JSON object on "
                                                      "one line (else indented)")] = False,
               ) -> None:
    """An inbound sync of N sandbox HubSpot contacts against dlt and the fetch-only limit."""
    import json

    from evals.bench.sync import bench_sync as measure

    async def main() -> None:
        result = await measure(_settings(), records, rounds=rounds, keep=keep,
                              profile=profile)
        typer.echo(json.dumps(result) if json_out else json.dumps(result, indent=2))

    _run(main())


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored credential under the newest key in CONNECTUS_SECRET_KEYS."""
    from tools.keys import rotate_all

    async def main() -> None:
        from tools.runtime import running

        async with running(_settings(), queue=False) as services:
            count = await rotate_all(services)
            typer.echo(f"re-encrypted {count} credential(s) under the newest key")

    _run(main())


@app.command("new-key")
def new_key() -> None:
    """Print a fresh encryption key for CONNECTUS_SECRET_KEYS."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


@app.command("eval")
def eval_agent(
        cases: Annotated[Path | None, typer.Option(help="JSON Lines of cases (default: "
                                                   "evals/agent/cases.jsonl)")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="one JSON object on one line "
                                               "(else indented)")] = False,
        repeat: Annotated[int, typer.Option(min=1, help="tries per case; reports pass^K")] = 1,
        model_only: Annotated[bool, typer.Option(help="the model alone: its first tool call "
                                                 "per question, no database")] = False,
        split: Annotated[str | None, typer.Option(help="only cases of this split "
                                                  "(tuned, held_out)")] = None,
        sandbox_port: Annotated[int | None, typer.Option(help="port of the sandbox the demo "
                                                         "integrations use")] = None,
        ) -> None:
    """Ask the agent every eval case on the demo tenant; print accuracy, grounding, latency."""
    import json

    from evals.agent.cases import DEFAULT_CASES
    from evals.agent.command import eval_command

    async def main() -> None:
        result = await eval_command(_settings(), cases or DEFAULT_CASES, repeat=repeat,
                                    model_only=model_only, split=split,
                                    sandbox_port=sandbox_port)
        typer.echo(json.dumps(result) if json_out else json.dumps(result, indent=2))

    _run(main())


@bench.command("retrieval")
def bench_retrieval(rows: Annotated[int, typer.Option(min=10, help="health logs to store")]
                    = 100_000,
                    keep: Annotated[bool, typer.Option(help="keep the bench tenant")] = False,
                    blended: Annotated[bool, typer.Option(
                        help="every log its own text and vector (N vectors in the graph)")]
                    = False,
                    json_out: Annotated[bool, typer.Option("--json", help="one JSON object on "
                                                           "one line (else indented)")] = False,
                    ) -> None:
    """The fused search (HNSW + full text) over N stored logs, against an exact scan."""
    import json

    from evals.bench.retrieval import bench_retrieval as measure

    async def main() -> None:
        result = await measure(_settings(), rows, keep=keep, blended=blended)
        typer.echo(json.dumps(result) if json_out else json.dumps(result, indent=2))

    _run(main())


@bench.command("workflows")
def bench_workflows(
        seconds: Annotated[float, typer.Option(min=0.5, help="how long the load sends")] = 60,
        rate: Annotated[float, typer.Option(min=1, help=(
            "events a second offered, above the 500 aimed at (a rate past what the ingress "
            "takes floods it: at most --concurrency deliveries are in flight)"))] = 600,
        workers: Annotated[int, typer.Option(min=1, help=(
            "worker processes (2 by default: on 2 cores, one worker's own core was the "
            "limit; a second kept up, 570 against 493 runs a second over 60 s)"))] = 2,
        max_jobs: Annotated[int, typer.Option(min=1, help="jobs each worker runs at once")]
        = 50,
        concurrency: Annotated[int, typer.Option(
            min=1, help="deliveries in flight at most (HubSpot's default: 10)")] = 10,
        redeliveries: Annotated[float, typer.Option(
            min=0, max=0.5, help="share of deliveries that repeat an earlier event")] = 0.02,
        events_per_delivery: Annotated[int, typer.Option(
            min=1, max=100, help="events in each delivery (HubSpot sends up to 100; "
            "10 by default: evals/bench/workflows.py says why)")] = 10,
        keep: Annotated[bool, typer.Option(help="keep the bench tenant to look at")] = False,
        port: Annotated[int, typer.Option(
            min=0, max=65534, help="the ingress's port, the simulator's the next one "
            "(0: free ports), for a machine shared by port ranges")] = 0,
        json_out: Annotated[bool, typer.Option("--json", help="one JSON object on one line "
                                               "(else indented)")] = False,
        ) -> None:
    """Signed HubSpot webhooks into the ingress, a two-action workflow run for each."""
    import json

    from evals.bench.workflows import bench_workflows as measure

    async def main() -> None:
        result = await measure(_settings(), seconds, rate=rate, workers=workers,
                               max_jobs=max_jobs, concurrency=concurrency,
                               redelivery_share=redeliveries,
                               events_per_delivery=events_per_delivery, keep=keep,
                               port=port)
        typer.echo(json.dumps(result) if json_out else json.dumps(result, indent=2))

    _run(main())


@app.command()
def ask(question: Annotated[str, typer.Argument(help="the question, in plain language")],
        thread: Annotated[str | None, typer.Option(help="go on with this thread")] = None,
        api_key: Annotated[str | None, typer.Option(
            envvar="CONNECTUS_API_KEY", help="ask as this key's user (else the demo owner)")]
        = None,
        yes: Annotated[bool, typer.Option("--yes", help="confirm writes without asking")]
        = False) -> None:
    """Ask Connectus in the terminal: tool steps shown, writes confirmed at a prompt."""
    from ui.ask_terminal import ask_in_terminal

    _run(ask_in_terminal(_settings(), question, thread, api_key, yes))


@app.command("mcp")
def mcp_stdio(api_key: Annotated[str | None, typer.Option(
        envvar="CONNECTUS_API_KEY", help="act as this key's user")] = None) -> None:
    """Serve the agent's tools over MCP on stdin/stdout (for a client that starts it)."""
    from ui.mcp.stdio import serve_stdio

    _run(serve_stdio(_settings(), api_key))


if __name__ == "__main__":
    app()
