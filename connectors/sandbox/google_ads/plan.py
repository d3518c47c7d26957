"""Row plans for parsed GAQL: how many rows a query yields and what row ``r`` holds.

A query over ``D`` days and ``E`` entities yields ``D * E`` rows, date-major unless
the first ORDER BY key is an entity field. Row ``r`` is computed from ``r`` alone,
so paging costs the page size. Entity filters keep a list of matching entity
indices; metric filters or metric ordering need every row and are capped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from connectors.sandbox.google_ads.data import (
    FIRST_DAY,
    INT64,
    ROW_CAP,
    GaqlError,
    Query,
    ad_group_at,
    camel,
    campaign_at,
    created_campaigns,
    customer_record,
    day_metrics,
    matches,
    metrics_json,
)
from connectors.sandbox.kit import Dataset

Context = dict[str, Any]
Cell = tuple[int, date | None]
MeasuredCell = tuple[int, date | None, dict[str, Any]]  # a cell with its metrics
_ENTITY_PREFIXES = ("campaign", "ad_group", "customer")


@dataclass
class Plan:
    total: int
    field_mask: str
    row: Callable[[int], dict[str, Any]]


def _entities(query: Query, ds: Dataset, customer: str
              ) -> tuple[int, Callable[[int], Context], Callable[[int], list[str]]]:
    """(entity count, context of entity k, metric keys of entity k)."""
    who = customer_record(customer)
    count = ds.count("campaigns")
    created = created_campaigns(ds, customer)

    memo: dict[int, dict[str, Any]] = {}  # lives for one request: a page asks each row twice

    def campaign(k: int) -> dict[str, Any]:
        if k not in memo:
            memo[k] = campaign_at(ds, customer, k) if k < count else created[k - count]
        return memo[k]

    if query.resource == "ad_group":
        per = ds.count("ad_groups_per_campaign")

        def ad_group_ctx(k: int) -> Context:
            i, j = divmod(k, per)
            return {"ad_group": ad_group_at(ds, customer, i, j),
                    "campaign": campaign(i), "customer": who}

        return count * per, ad_group_ctx, lambda k: [f"a{ad_group_ctx(k)['ad_group']['id']}"]
    if query.resource == "campaign":
        return (count + len(created), lambda k: {"campaign": campaign(k), "customer": who},
                lambda k: [f"c{campaign(k)['id']}"])
    everything = [f"c{campaign(k)['id']}" for k in range(count + len(created))]
    return 1, lambda k: {"customer": who}, lambda k: everything


def _value(ctx: Context, name: str, day: date | None, metrics: dict[str, Any]) -> Any:
    prefix, _, attr = name.partition(".")
    if prefix == "segments":
        return day.isoformat() if day else None
    if prefix == "metrics":
        return metrics[attr]
    return ctx[prefix][attr]


def render(query: Query, ctx: Context, day: date | None, metrics: dict[str, Any]
           ) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in query.fields:
        prefix, _, attr = name.partition(".")
        value = _value(ctx, name, day, metrics)
        if prefix in _ENTITY_PREFIXES:
            row.setdefault(camel(prefix), {"resourceName": ctx[prefix]["resource_name"]})
        row.setdefault(camel(prefix), {})[camel(attr)] = str(value) if name in INT64 else value
    return row


def build(query: Query, ds: Dataset, customer: str, seed: int, today: date) -> Plan:
    count, context, metric_keys = _entities(query, ds, customer)
    entity_conds = [c for c in query.conds if c.field.split(".")[0] in _ENTITY_PREFIXES]
    metric_conds = [c for c in query.conds if c.field.startswith("metrics.")]
    metric_order = any(name.startswith("metrics.") for name, _ in query.order)
    entity_major = bool(query.order) and query.order[0][0].split(".")[0] in _ENTITY_PREFIXES

    def entity_key(name: str) -> Callable[[int], Any]:
        return lambda k: _value(context(k), name, None, {})

    def cell_key(name: str) -> Callable[[MeasuredCell], Any]:
        return lambda c: _value(context(c[0]), name, c[1], c[2])

    keep: list[int] | None = None
    if entity_conds or entity_major:
        keep = [k for k in range(count)
                if all(matches(_value(context(k), c.field, None, {}), c) for c in entity_conds)]
        for name, desc in reversed(query.order):
            if name.split(".")[0] in _ENTITY_PREFIXES:
                keep.sort(key=entity_key(name), reverse=desc)
    entities = count if keep is None else len(keep)
    by_date = "segments.date" in query.fields
    first = query.first if by_date and query.first else FIRST_DAY
    last = query.last if by_date and query.last else today
    days = (last - first).days + 1 if by_date else 1
    span = (query.first or FIRST_DAY, query.last or today)
    date_desc = any(name == "segments.date" and desc for name, desc in query.order)
    wants_metrics = metric_conds or metric_order or any(
        name.startswith("metrics.") for name in query.fields)

    def cell(r: int) -> Cell:
        e, d = divmod(r, days) if entity_major else divmod(r, entities)[::-1]
        k = keep[e] if keep is not None else e
        if not by_date:
            return k, None
        return k, (last - timedelta(days=d)) if date_desc else (first + timedelta(days=d))

    def metrics_of(k: int, day: date | None) -> dict[str, Any]:
        if not wants_metrics:
            return {}
        totals = [0.0] * 5
        days_ = [day] if day else [span[0] + timedelta(days=n)
                                   for n in range((span[1] - span[0]).days + 1)]
        for key in metric_keys(k):
            for one in days_:
                totals = [a + b for a, b in zip(totals, day_metrics(seed, key, one), strict=True)]
        return metrics_json(totals)

    total = entities * days
    if metric_conds or metric_order:
        if total > ROW_CAP:
            raise GaqlError("QUERY_ERROR", f"Sandbox limit: filtering or ordering on metrics "
                            f"reads every row; this query has {total}, over {ROW_CAP}.")
        cells: list[MeasuredCell] = []
        for r in range(total):
            k, day = cell(r)
            found = metrics_of(k, day)
            if all(matches(found[c.field.split(".")[1]], c) for c in metric_conds):
                cells.append((k, day, found))
        for name, desc in reversed(query.order):
            cells.sort(key=cell_key(name), reverse=desc)
        total = len(cells)

        def row(r: int) -> dict[str, Any]:
            k, day, found = cells[r]
            return render(query, context(k), day, found)
    else:
        def row(r: int) -> dict[str, Any]:
            k, day = cell(r)
            return render(query, context(k), day, metrics_of(k, day))

    mask = ",".join(f"{camel(p)}.{camel(a)}" for p, _, a in
                    (name.partition(".") for name in query.fields))
    return Plan(min(total, query.limit or total), mask, row)
