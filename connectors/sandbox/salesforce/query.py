"""SOQL execution for the Salesforce simulator: result views and query cursors.

A query becomes a ``View`` (generated index range plus written records), frozen
when the query runs: ``nextRecordsUrl`` pages come from that snapshot, as a
server-side cursor would, while each row shows its values at the time it is read.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.sandbox.kit.sequence import Periodic, View
from connectors.sandbox.salesforce.data import make_id, record_id, render
from connectors.sandbox.salesforce.soql import Bound, Query
from connectors.sandbox.salesforce.state import Box
from connectors.sandbox.salesforce.store import current, dataset, index_of

MAX_CURSORS = 50  # Salesforce closes a user's oldest cursors too; this bounds memory


def _index_bound(box: Box, bound: Bound, *, lower: bool) -> int:
    ds = dataset(box)
    index = ds.first_index_modified_after(bound.ts)
    on_bound = ds.modified_at(index) == bound.ts
    return index + 1 if on_bound and bound.strict == lower else index


def _in_range(query: Query, ts: float) -> bool:
    if query.since and not (ts > query.since.ts if query.since.strict else ts >= query.since.ts):
        return False
    return not (query.until and not (ts < query.until.ts if query.until.strict
                                     else ts <= query.until.ts))


def build_view(box: Box, query: Query, include_deleted: bool) -> View:
    ds, obj = dataset(box), query.sobject
    lo = _index_bound(box, query.since, lower=True) if query.since else 0
    hi = min(ds.count(obj), _index_bound(box, query.until, lower=False)) if query.until \
        else ds.count(obj)
    gen = Periodic(lo, max(lo, hi)) if query.is_deleted is not True else Periodic(0, 0)
    touched = [*ds.overlay.get(obj, {}), *ds.deleted(obj)]
    tail: list[tuple[float, str]] = []
    if query.is_deleted is not True:
        tail += [(ts, key) for key, _, ts in ds.written(obj) if _in_range(query, ts)]
    if include_deleted and query.is_deleted is not False:
        tail += [(gone.deleted_at, key) for key, gone in ds.deleted(obj).items()
                 if _in_range(query, gone.deleted_at)]
    indices = [i for i in (index_of(obj, k) for k in touched) if i is not None]
    return View.build(gen, indices, [key for _, key in sorted(tail)])


def batch_size(header: str) -> int:
    # "There is no guarantee that the requested batch size is the actual batch size":
    # out-of-range values are clamped rather than refused.
    match = re.search(r"batchSize\s*=\s*(\d+)", header)
    return min(2000, max(200, int(match.group(1)))) if match else 2000


def serve_batch(box: Box, cursor: dict[str, Any], offset: int) -> dict[str, Any]:
    end = min(offset + cursor["batch"], cursor["total"])
    records = []
    for item in cursor["view"].page(offset, end - offset):
        key = record_id(cursor["sobject"], item) if isinstance(item, int) else item
        found = current(box, cursor["sobject"], key)
        if found is not None:
            records.append(render(cursor["sobject"], found[0], found[1], cursor["version"],
                                  cursor["fields"]))
    body: dict[str, Any] = {"totalSize": cursor["total"], "done": end >= cursor["total"]}
    cursors = box.state.cursors
    if end < cursor["total"]:
        if "locator" not in cursor:
            box.state.serial += 1
            cursor["locator"] = make_id("01g", box.state.serial)
            cursors[cursor["locator"]] = cursor
            while len(cursors) > MAX_CURSORS:
                cursors.pop(next(iter(cursors)))
        body["nextRecordsUrl"] = (f"/services/data/{cursor['version']}/{cursor['endpoint']}/"
                                  f"{cursor['locator']}-{end}")
    elif "locator" in cursor:
        cursors.pop(cursor["locator"], None)
    body["records"] = records
    return body
