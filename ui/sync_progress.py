"""`connectus sync FLOW`: one flow run in the foreground, with a progress bar and a summary.

The total is not known before the last page (providers rarely say it cheaply), so the bar
pulses and counts what has moved.
"""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tools.context import Settings
from tools.runtime import running
from tools.syncs import Batch, SyncRunPublic, find_flow, run_in_foreground


async def sync_with_progress(settings: Settings, ref: str, *, json_out: bool = False) -> None:
    console = Console(stderr=json_out)
    async with running(settings) as services:
        flow = await find_flow(services, ref)
        progress = Progress(SpinnerColumn(), TextColumn(f"[bold]{flow.name}"), BarColumn(),
                            TextColumn("{task.fields[read]} read, {task.fields[written]} "
                                       "written, {task.fields[failed]} failed"),
                            TimeElapsedColumn(), console=console, disable=json_out)
        task = progress.add_task("sync", total=None, read=0, written=0, failed=0)
        counts = {"read": 0, "written": 0, "failed": 0}

        def advance(batch: Batch) -> None:
            counts["read"] += batch.read
            counts["written"] += batch.written
            counts["failed"] += batch.failed
            progress.update(task, read=counts["read"], written=counts["written"],
                            failed=counts["failed"])

        with progress:
            run = await run_in_foreground(services, flow, on_batch=advance)
    if json_out:
        sys.stdout.write(run.model_dump_json() + "\n")
    else:
        console.print(_summary(flow.name, run))
    if run.status not in ("succeeded", "partial"):
        raise SystemExit(1)


def _summary(name: str, run: SyncRunPublic) -> Table:
    table = Table(title=f"{name}: {run.status}", show_header=False)
    for label, value in (("run", str(run.id)), ("read", run.records_read),
                         ("written", run.records_written),
                         ("unchanged", run.records_unchanged),
                         ("dead-lettered", run.records_failed),
                         ("cursor", json.dumps(run.cursor_after)),
                         ("error", run.error or "")):
        if value != "":
            table.add_row(label, str(value))
    for side in ("inbound", "outbound"):  # both passes of a both-ways run, each its own
        if isinstance(run.summary.get(side), dict):
            table.add_row(side, ", ".join(f"{v} {k}" for k, v in run.summary[side].items()))
    return table
