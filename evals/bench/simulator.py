"""The HubSpot simulator in a process of its own, for ``connectus bench``.

``python -m evals.bench.simulator --records N`` listens on a free loopback port, prints
that port on one line once it is listening, and serves ``/hubspot/...`` with N contacts
until it is stopped. A process of its own, so the side being measured never shares its
interpreter (and its GIL) with the server it reads from.
"""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from connectors.sandbox.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    app = create_app(seed=args.seed, counts={"hubspot": {"contacts": args.records}},
                     only=["hubspot"])
    listening = socket.create_server(("127.0.0.1", 0))
    # accepted sockets inherit it; asyncio only sets it on sockets made with proto=TCP, so a
    # listener from create_server (proto 0) would answer with Nagle on: 40 ms per page
    listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    sys.stdout.write(f"{listening.getsockname()[1]}\n")
    sys.stdout.flush()
    server.run(sockets=[listening])


if __name__ == "__main__":
    main()
