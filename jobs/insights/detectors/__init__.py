"""The detectors, as a table: name -> a function from a tenant's snapshot to findings.

Each is pure (it reads the snapshot, writes nothing), so a tick can run them all and a
test can feed one a constructed history. The windows each one reads are its hysteresis:
a condition holds while its evidence is inside the window, and clears when it is not.
"""

from __future__ import annotations

from collections.abc import Callable

from jobs.insights.detectors import access, flows, quality, syncs, usage
from jobs.insights.finding import Finding, Snapshot
from jobs.insights.frequency import frequency_advice

Detector = Callable[[Snapshot], list[Finding]]

DETECTORS: dict[str, Detector] = {
    "failing_sync": syncs.failing_syncs,
    "error_spike": usage.error_spikes,
    "rate_limit_forecast": usage.rate_limit_forecasts,
    "token_expiry": access.token_expiry,
    "stale_flow": flows.stale_flows,
    "data_quality": quality.data_quality_drift,
    "quiet_trigger": access.quiet_triggers,
    "record_volume": flows.record_volume,
    "sync_frequency": frequency_advice,
}

__all__ = ["DETECTORS", "Detector"]
