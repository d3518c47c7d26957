"""HubSpot CRM search (``POST /crm/v3/objects/{type}/search``) over the lazy dataset.

Filters on id, ``createdate`` and the last-modified property are monotone in the
generated index, so a single filter group made only of those turns into an index
range: counting and skipping to ``after`` are arithmetic, and only the returned
page is generated. Anything else (other properties, several groups, ``query``)
falls back to scanning the narrowest index hull the filters allow (an email EQ/IN
narrows it to the indices encoded in the generated addresses). Written records
are few and always evaluated one by one.
"""

from __future__ import annotations

import fnmatch
import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

from connectors.sandbox.hubspot.data import (
    CREATE_LAG_MS,
    DATE_PROPERTIES,
    DELTA_PROPERTY,
    ID_BASE,
    NUMBER_PROPERTIES,
    Crm,
    CrmError,
)
from connectors.sandbox.kit import EPOCH
from connectors.sandbox.kit.wire import parse_iso

OPERATORS = {"LT", "LTE", "GT", "GTE", "EQ", "NEQ", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
             "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
RANGE_OPERATORS = {"LT", "LTE", "GT", "GTE", "EQ", "BETWEEN", "HAS_PROPERTY"}
MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_LIMIT, RESULT_CAP = 200, 10_000
_EMAIL_INDEX = re.compile(r"\.(\d+)@[a-z]+\.example$")


@dataclass
class Filter:
    prop: str
    op: str
    value: Any = None
    high: Any = None
    values: list[Any] = field(default_factory=list)


@dataclass
class Query:
    obj: str
    groups: list[list[Filter]]
    sort_prop: str | None
    descending: bool
    limit: int
    after: int
    properties: list[str] | None
    text: str | None


def _coerce(prop: str, value: Any) -> Any:
    """A filter or property value in the type HubSpot compares it as."""
    if value is None or value == "":
        return None
    if prop in DATE_PROPERTIES:
        text = str(value).strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return int(float(text))
        try:
            return int(parse_iso(text if "T" in text else text + "T00:00:00Z") * 1000)
        except ValueError as exc:
            raise CrmError(400, f"Invalid date value {text!r} for property {prop}; use epoch "
                                "milliseconds") from exc
    if prop in NUMBER_PROPERTIES:
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise CrmError(400, f"Invalid number value {value!r} for property {prop}") from exc
    return str(value).lower()


def parse(obj: str, body: Any) -> Query:
    if not isinstance(body, dict):
        raise CrmError(400, "Invalid input JSON: expected an object")
    raw_groups = body.get("filterGroups") or []
    if len(raw_groups) > MAX_GROUPS:
        raise CrmError(400, f"Too many filter groups ({len(raw_groups)}); the maximum is "
                            f"{MAX_GROUPS}")
    groups: list[list[Filter]] = []
    for raw in raw_groups:
        filters = raw.get("filters") or [] if isinstance(raw, dict) else None
        if filters is None or len(filters) > MAX_PER_GROUP:
            raise CrmError(400, f"Each filter group may hold at most {MAX_PER_GROUP} filters")
        groups.append([_parse_filter(f) for f in filters])
    if sum(len(g) for g in groups) > MAX_FILTERS:
        raise CrmError(400, f"Too many filters; the maximum is {MAX_FILTERS} across all groups")
    sorts = body.get("sorts") or []
    if len(sorts) > 1:
        raise CrmError(400, "Only one sort is supported")
    sort_prop, descending = None, False
    if sorts:
        sort = sorts[0] if isinstance(sorts[0], dict) else {"propertyName": sorts[0]}
        sort_prop = sort.get("propertyName")
        direction = sort.get("direction", "ASCENDING")
        if direction not in ("ASCENDING", "DESCENDING"):
            raise CrmError(400, f"Invalid sort direction: {direction}")
        descending = direction == "DESCENDING"
    limit = to_int(body.get("limit", 10), "limit")
    if not 1 <= limit <= MAX_LIMIT:
        raise CrmError(400, f"limit must be between 1 and {MAX_LIMIT} (got {limit})")
    after = to_int(body.get("after") or 0, "after")
    if after >= RESULT_CAP:
        raise CrmError(400, f"Search can page through at most {RESULT_CAP} results (after="
                            f"{after}); narrow the filters, e.g. advance the "
                            f"{DELTA_PROPERTY[obj]} cursor")
    props = body.get("properties")
    return Query(obj, groups, sort_prop, descending, limit, after,
                 [str(p) for p in props] if props else None, body.get("query") or None)


def to_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise CrmError(400, f"{name} must be an integer (got {value!r})") from exc


def _parse_filter(raw: Any) -> Filter:
    if not isinstance(raw, dict) or not raw.get("propertyName"):
        raise CrmError(400, "Each filter needs a propertyName and an operator")
    op = str(raw.get("operator", "EQ"))
    if op not in OPERATORS:
        raise CrmError(400, f"Unknown filter operator: {op}")
    prop = str(raw["propertyName"])
    f = Filter(prop, op, _coerce(prop, raw.get("value")), _coerce(prop, raw.get("highValue")),
               [_coerce(prop, v) for v in raw.get("values") or []])
    if op == "BETWEEN" and (f.value is None or f.high is None):
        raise CrmError(400, f"BETWEEN on {prop} needs both value and highValue")
    if op in ("IN", "NOT_IN") and not f.values:
        raise CrmError(400, f"{op} on {prop} needs a non-empty values list")
    if op not in ("BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY") \
            and f.value is None:
        raise CrmError(400, f"{op} on {prop} needs a value")
    return f


def _holds(f: Filter, props: dict[str, Any]) -> bool:
    raw = props.get(f.prop)
    if f.op == "HAS_PROPERTY":
        return raw not in (None, "")
    if f.op == "NOT_HAS_PROPERTY":
        return raw in (None, "")
    have = _coerce(f.prop, raw)
    if have is None:
        return f.op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
    if f.op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        tokens = re.split(r"[^\w]+", str(have))
        found = any(fnmatch.fnmatchcase(t, str(f.value)) for t in tokens) or \
            fnmatch.fnmatchcase(str(have), str(f.value))
        return found if f.op == "CONTAINS_TOKEN" else not found
    checks = {"EQ": lambda: have == f.value, "NEQ": lambda: have != f.value,
              "LT": lambda: have < f.value, "LTE": lambda: have <= f.value,
              "GT": lambda: have > f.value, "GTE": lambda: have >= f.value,
              "BETWEEN": lambda: f.value <= have <= f.high,
              "IN": lambda: have in f.values, "NOT_IN": lambda: have not in f.values}
    return bool(checks[f.op]())


def matches(q: Query, props: dict[str, Any]) -> bool:
    if q.text:
        needle = q.text.lower().strip("*")
        if not any(needle in str(v).lower() for v in props.values() if v):
            return False
    return not q.groups or any(all(_holds(f, props) for f in g) for g in q.groups)


def _linear(q: Query, prop: str, step_ms: int) -> tuple[int, int] | None:
    """(a, b) with value(i) = a + b*i for index-derived properties of generated records."""
    start = EPOCH * 1000
    if prop == DELTA_PROPERTY[q.obj]:
        return start, step_ms
    if prop == "createdate":
        return start - CREATE_LAG_MS, step_ms
    if prop == "hs_object_id":
        return ID_BASE[q.obj] + 1, 1
    return None


def _group_bounds(q: Query, group: list[Filter], n: int, step_ms: int) -> tuple[int, int, bool]:
    """Index hull [lo, hi) of one filter group over generated records, and whether exact."""
    lo, hi, exact = 0, n, True
    for f in group:
        line = _linear(q, f.prop, step_ms)
        if line is not None and f.op in RANGE_OPERATORS:
            a, b = line
            if f.op in ("GTE", "EQ", "BETWEEN"):
                lo = max(lo, -((a - int(f.value)) // b))
            if f.op == "GT":
                lo = max(lo, (int(f.value) - a) // b + 1)
            if f.op in ("LTE", "EQ"):
                hi = min(hi, (int(f.value) - a) // b + 1)
            if f.op == "BETWEEN":
                hi = min(hi, (int(f.high) - a) // b + 1)
            if f.op == "LT":
                hi = min(hi, -((a - int(f.value)) // b))
            continue
        exact = False
        if f.prop == "email" and f.op in ("EQ", "IN"):
            found = [int(m.group(1)) for v in ([f.value] if f.op == "EQ" else f.values)
                     if (m := _EMAIL_INDEX.search(str(v)))]
            lo, hi = (max(lo, min(found)), min(hi, max(found) + 1)) if found else (0, 0)
    lo = min(lo, n)
    return lo, max(lo, hi), exact


def run(crm: Crm, q: Query) -> dict[str, Any]:
    n = crm.count(q.obj)
    step_ms = crm.ds.step_s * 1000
    bounds = [_group_bounds(q, g, n, step_ms) for g in q.groups] or [(0, n, True)]
    spans = [(a, b) for a, b, _ in bounds if b > a] or [(0, 0)]
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    exact = len(bounds) == 1 and bounds[0][2] and not q.text
    overlay = crm.overlay(q.obj)
    rewritten = {i for k in overlay if (i := crm.index_of(q.obj, k)) is not None}
    deleted = {i for k in crm.ds.deleted(q.obj)
               if (i := crm.index_of(q.obj, k)) is not None}
    skip = rewritten | deleted
    by_modified = q.sort_prop == DELTA_PROPERTY[q.obj]
    by_index = q.sort_prop in (None, "hs_object_id", "createdate")

    def gen_items() -> Iterator[tuple[int, Any]]:
        indices = range(hi - 1, lo - 1, -1) if q.descending else range(lo, hi)
        for i in indices:
            if i in skip:
                continue
            if exact:
                yield i, i
            else:
                record = crm.generated(q.obj, i)
                if matches(q, record["properties"]):
                    yield i, record

    def rewritten_record(i: int) -> dict[str, Any]:
        return overlay[str(ID_BASE[q.obj] + 1 + i)]

    rewritten_hits = sorted((i for i in rewritten if matches(q, rewritten_record(i)["properties"])),
                            reverse=q.descending)
    head: Iterator[tuple[int, Any]]
    if by_modified:
        # A rewritten record's new timestamp is newer than every generated one: it moves to the end.
        tail = [r for _, r, _ in crm.ds.written(q.obj) if matches(q, r["properties"])]
        head = gen_items()
    else:
        tail = [overlay[str(k)] for k in crm.created_ids(q.obj)
                if matches(q, overlay[str(k)]["properties"])]
        extra = [(i, rewritten_record(i)) for i in rewritten_hits]
        head = heapq.merge(gen_items(), extra, key=lambda item: item[0], reverse=q.descending)
    if q.descending:
        tail.reverse()
    body = (item for _, item in head)
    stream: Iterator[Any] = chain(tail, body) if q.descending else chain(body, tail)
    if not (by_modified or by_index):
        # Sorting on any other property has no index order to lean on: materialise, then sort.
        everything = [x if isinstance(x, dict) else crm.generated(q.obj, x) for x in stream]
        everything.sort(key=lambda r: _sort_key(q, r), reverse=q.descending)
        stream = iter(everything)
    if exact:
        # Every non-skipped index in the hull matches, so counting is arithmetic and only the
        # page itself is generated.
        in_hull = sum(1 for i in skip if lo <= i < hi)
        total = (hi - lo) - in_hull + len(tail) + (0 if by_modified else len(rewritten_hits))
        page = list(islice(stream, q.after, q.after + q.limit))
    else:
        items = list(stream)
        total, page = len(items), items[q.after:q.after + q.limit]
    records = [x if isinstance(x, dict) else crm.generated(q.obj, x) for x in page]
    out: dict[str, Any] = {"total": total, "results": records}
    if q.after + q.limit < total:
        out["paging"] = {"next": {"after": str(q.after + q.limit)}}
    return out


def _sort_key(q: Query, record: dict[str, Any]) -> tuple[bool, Any]:
    value = _coerce(q.sort_prop or "", record["properties"].get(q.sort_prop or ""))
    return value is None, value if value is not None else 0
