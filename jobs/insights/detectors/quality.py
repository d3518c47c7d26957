"""Data-quality drift: a flow's share of refused records rising against its own week,
with the mapping rule that refuses most (from the dead letters of the last day)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from jobs.insights.detectors.links import dead_letters
from jobs.insights.finding import DAY, WINDOW, Finding, Snapshot
from store.models import DataFlow

MIN_READ = 20  # records read in the last day before a rate means anything
MIN_RATE = 0.05
RISE = 2.0  # the last day's rate against the baseline's


def _rule_name(flow: DataFlow, field: Any, rule: Any) -> str:
    for mapping in flow.mappings or []:
        if isinstance(mapping, dict) and mapping.get("target") == field:
            rules = mapping.get("rules") or []
            if isinstance(rule, int) and 0 <= rule < len(rules):
                found = rules[rule]  # {"rule": "email", ...}, or "trim" for {"rule": "trim"}
                return str(found.get("rule") or rule) if isinstance(found, dict) else str(found)
    return str(rule) if rule is not None else "the write"


def top_rule(flow: DataFlow, errors: list[dict[str, Any]]) -> dict[str, Any] | None:
    counts = Counter((str(e.get("field")), e.get("rule")) for e in errors)
    if not counts:
        return None
    (field, rule), times = counts.most_common(1)[0]
    sample = next(e for e in errors if (str(e.get("field")), e.get("rule")) == (field, rule))
    return {"field": field, "rule": _rule_name(flow, field, rule), "count": times,
            "of": len(errors), "message": str(sample.get("message", ""))[:200]}


def data_quality_drift(snap: Snapshot) -> list[Finding]:
    found = []
    for flow in snap.flows:
        recent = snap.runs_since(flow.id, snap.now - DAY)
        earlier = [r for r in snap.runs_since(flow.id, snap.now - WINDOW)
                   if r.finished_at and r.finished_at < snap.now - DAY]
        read = sum(r.records_read for r in recent)
        if read < MIN_READ:
            continue
        rate = sum(r.records_failed for r in recent) / read
        base_read = sum(r.records_read for r in earlier)
        base = sum(r.records_failed for r in earlier) / base_read if base_read else 0.0
        if rate < MIN_RATE or rate < base * RISE + 0.01:
            continue
        rule = top_rule(flow, snap.rejections.get(flow.id, []))
        which = (f" Most refusals: field {rule['field']!r}, rule {rule['rule']} "
                 f"({rule['count']} of {rule['of']}): \"{rule['message']}\"" if rule else "")
        found.append(Finding(
            detector="data_quality", subject=str(flow.id), integration_id=flow.integration_id,
            insight_type="warning", priority="high" if rate >= 0.25 else "medium",
            title=f"More records refused by flow {flow.name!r}",
            description=(f"{rate:.0%} of the records read in the last day were refused, "
                         f"against {base:.1%} over the week before.{which}"),
            recommendation=(f"Fix the {rule['rule']} rule on {rule['field']!r} (or the source "
                            "data), then replay the dead letters" if rule else
                            "Look at the refused records, fix the mapping, replay them"),
            action_items=(dead_letters(flow.id),),
            details={"flow_id": str(flow.id), "rate": round(rate, 4),
                     "baseline_rate": round(base, 4), "top_rule": rule}))
    return found
