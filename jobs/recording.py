"""Every provider call counted into ApiUsage; every failure written as a HealthLog.

Calls are counted in memory and flushed in one upsert per hour bucket (every
``flush_every`` calls and at the end of the operation), so a sync of a
million records does not write a million usage rows. Repeated failures of
the same kind within one operation become one health-log row with a count.

``api_calls_today`` is the day's cost against the provider's quota (operations, which
are calls except where the provider counts otherwise), or the provider's own count when
its headers report a larger one: it also counts calls other apps made on the account.
A limit the provider reports replaces the configured ``api_calls_limit``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from connectors.errors import ProviderError
from connectors.spec import Usage
from store.db import Database
from store.models import ApiUsage, HealthLog, Integration

COUNTER_MAX = 2**31 - 1  # integrations.api_calls_today and api_calls_limit are integers

def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class UsageRecorder:
    def __init__(self, db: Database, tenant_id: uuid.UUID, integration_id: uuid.UUID,
                 *, flush_every: int = 50) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.integration_id = integration_id
        self.flush_every = flush_every
        # hour -> [calls, errors, rate_limited, operations]
        self._counts: dict[datetime, list[int]] = {}
        self._failures: dict[tuple[str, str | None], tuple[ProviderError, int]] = {}
        self._reported: Usage | None = None
        self._pending = 0
        self.total_calls = 0
        self.failures_written = 0  # health-log rows written: the health score is due again

    async def call(self, *, status: int | None, elapsed_ms: float,
                   error: ProviderError | None, usage: Usage | None = None,
                   cost: int = 1) -> None:
        counts = self._counts.setdefault(_hour(datetime.now(UTC)), [0, 0, 0, 0])
        counts[0] += 1
        counts[3] += cost
        self.total_calls += 1
        if usage is not None and usage.used is not None:
            self._reported = usage
        if error is not None:
            counts[1] += 1
            if error.category in {"rate_limited", "quota_exhausted"}:
                counts[2] += 1
            key = (error.category, error.provider_code or str(error.http_status))
            _, seen = self._failures.get(key, (error, 0))
            self._failures[key] = (error, seen + 1)
        self._pending += 1
        if self._pending >= self.flush_every:
            await self.flush()

    async def flush(self) -> None:
        if not self._counts and not self._failures:
            return
        counts, self._counts = self._counts, {}
        failures, self._failures = self._failures, {}
        reported, self._reported = self._reported, None
        self._pending = 0
        async with self.db.transaction(self.tenant_id) as session:
            for hour, (calls, errors, limited, operations) in counts.items():
                statement = insert(ApiUsage).values(
                    id=uuid.uuid4(), tenant_id=self.tenant_id,
                    integration_id=self.integration_id, hour=hour, calls=calls, errors=errors,
                    rate_limited=limited, operations=operations)
                await session.execute(statement.on_conflict_do_update(
                    index_elements=["tenant_id", "integration_id", "hour"],
                    set_={"calls": ApiUsage.calls + calls, "errors": ApiUsage.errors + errors,
                          "rate_limited": ApiUsage.rate_limited + limited,
                          "operations": ApiUsage.operations + operations}))
            for error, times in failures.values():
                session.add(HealthLog(
                    tenant_id=self.tenant_id, integration_id=self.integration_id,
                    severity=error.severity, category=error.category, message=error.cause,
                    details={**error.as_details(), "occurrences": times}))
            self.failures_written += len(failures)
            now = datetime.now(UTC)
            used_today = select(func.coalesce(func.sum(ApiUsage.operations), 0)).where(
                ApiUsage.integration_id == self.integration_id,
                ApiUsage.hour >= _hour(now).replace(hour=0)).scalar_subquery()
            values: dict[str, Any] = {"api_calls_today": used_today}
            if reported is not None and reported.used is not None:
                values["api_calls_today"] = func.greatest(used_today,
                                                          min(reported.used, COUNTER_MAX))
                values["usage_reported"] = {"used": reported.used, "limit": reported.limit,
                                            "at": now.isoformat()}
                if reported.limit:  # a limit past the column's range is no limit to reach
                    values["api_calls_limit"] = min(reported.limit, COUNTER_MAX)
            await session.execute(
                update(Integration).where(Integration.id == self.integration_id)
                .values(**values))

    async def __aenter__(self) -> UsageRecorder:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.flush()
