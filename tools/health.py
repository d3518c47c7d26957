"""Is the service itself healthy: database, queue and workers reachable?"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from jobs.constants import HEARTBEAT_KEY
from tools.context import Services


async def service_health(services: Services) -> tuple[bool, dict[str, Any]]:
    """(healthy, checks). Every failure is reported, none raised: this answers /healthz."""
    checks: dict[str, Any] = {}
    try:
        async with services.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # a health check reports every failure instead of raising
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if services.queue is not None:
        try:
            await services.queue.ping()
            checks["queue"] = "ok"
            beat = await services.queue.get(HEARTBEAT_KEY)
            checks["worker"] = (f"alive ({time.time() - float(beat):.0f}s ago)"
                                if beat else "no heartbeat yet")
        except Exception as exc:
            checks["queue"] = f"unreachable: {type(exc).__name__}"
    healthy = all(v == "ok" for k, v in checks.items() if k in {"database", "queue"})
    return healthy, checks
