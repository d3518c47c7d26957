"""The HubSpot and Slack simulators in a process of their own, for ``connectus bench
workflows``.

``python -m evals.bench.workflow_simulator --records N`` listens on a free loopback port,
prints that port on one line once it is listening, and serves ``/hubspot/...`` (N
contacts) and ``/slack/...`` until it is stopped, with both providers' rate limits
lifted (the bench measures Connectus, not Slack's one message a second per channel).
``GET /_bench/slack`` says how many messages the Slack simulator stored and how many
distinct texts they carry: each event names a different contact, so any difference is
a message sent twice.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI

from connectors.sandbox.app import create_app
from connectors.sandbox.kit import ProviderSandbox

LIFTED = {"ten_secondly": 10**9, "daily": 10**12}


def slack_messages(slack: ProviderSandbox[Any]) -> dict[str, int]:
    try:
        ds = slack.current_dataset
    except LookupError:
        return {"messages": 0, "distinct_texts": 0}
    texts = [str(message.get("text")) for name, messages in ds.overlay.items()
             if name.startswith("messages:") for message in messages.values()]
    return {"messages": len(texts), "distinct_texts": len(set(texts))}


def bench_app(records: int, seed: int) -> FastAPI:
    # Slack first: its routes are tried first, and each run posts to Slack (routes are
    # matched in order, one after another; a batch read of HubSpot serves many runs)
    app = create_app(seed=seed, counts={"hubspot": {"contacts": records}},
                     only=["slack", "hubspot"])
    boxes: dict[str, ProviderSandbox[Any]] = app.state.sandboxes
    boxes["hubspot"].state.limits.update(LIFTED)
    slack_limits = boxes["slack"].state.limits
    slack_limits.update(post_per_s=1e9, post_burst=1e9)
    slack_limits["per_minute"] = {}

    @app.get("/_bench/slack")
    async def messages() -> dict[str, int]:
        return slack_messages(boxes["slack"])

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0, help="0: a free one")
    args = parser.parse_args()
    listening = socket.create_server(("127.0.0.1", args.port))
    # accepted sockets inherit it (see evals/bench/simulator.py): no 40 ms Nagle waits
    listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    config = uvicorn.Config(bench_app(args.records, args.seed), log_level="warning",
                            lifespan="off", access_log=False)
    sys.stdout.write(f"{listening.getsockname()[1]}\n")
    sys.stdout.flush()
    uvicorn.Server(config).run(sockets=[listening])


if __name__ == "__main__":
    main()
