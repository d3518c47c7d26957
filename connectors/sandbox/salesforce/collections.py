"""Salesforce writes: single-record create/upsert helpers, sObject Collections and the
``updated`` / ``deleted`` replication endpoints.

Collections answer HTTP 200 with one result per record in request order; per-record
errors use ``statusCode`` (top-level errors use ``errorCode``). With ``allOrNone`` a
single failure rolls every record back and the valid ones report
``ALL_OR_NONE_OPERATION_ROLLED_BACK``; nothing is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from connectors.sandbox.kit import EPOCH
from connectors.sandbox.kit.wire import parse_iso
from connectors.sandbox.salesforce.data import (
    EXTERNAL_ID,
    canonical_field,
    field_errors,
    record_id,
    render,
    sf_datetime,
    sobject_of,
)
from connectors.sandbox.salesforce.state import Box
from connectors.sandbox.salesforce.store import (
    current,
    dataset,
    delete,
    find_external,
    mutate_first_records,
    resolve_id,
    sobject_name,
    write,
)

MAX_RECORDS = 200
MAX_REPLICATION_IDS = 600_000
_ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the "
                           "request was using AllOrNone header", "fields": []}
Result = dict[str, Any]
Plan = list[dict[str, Any]] | Callable[[], Result]  # errors, or the write to perform


class BadRequest(Exception):
    """A 400 with a top-level ``[{"message", "errorCode"}]`` body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _err(code: str, message: str) -> list[dict[str, Any]]:
    return [{"statusCode": code, "message": message, "fields": []}]


def create_one(box: Box, sobject: str, body: Any) -> Result:
    plan = _plan_create(box, sobject, body)
    return plan() if callable(plan) else {"success": False, "errors": plan}


def upsert_one(box: Box, sobject: str, field: str, value: str, body: Any) -> Result:
    plan = _plan_upsert(box, sobject, field, value, body)
    return plan() if callable(plan) else {"success": False, "errors": plan, "created": False}


def _plan_create(box: Box, sobject: str, body: Any) -> Plan:
    if not isinstance(body, dict):
        return _err("JSON_PARSER_ERROR", "The request body must be a JSON object")
    errors = field_errors(sobject, body, creating=True)
    if errors:
        return errors
    return lambda: {"id": write(box, sobject, body), "success": True, "errors": []}


def _plan_update(box: Box, body: Any) -> Plan:
    if not isinstance(body, dict):
        return _err("JSON_PARSER_ERROR", "The request body must be a JSON object")
    raw = str(body.get("id") or body.get("Id") or "")
    if not raw:
        return _err("MISSING_ARGUMENT", "Id not specified in an update call")
    sobject = sobject_name(str(body.get("attributes", {}).get("type", ""))) or sobject_of(raw)
    rid = resolve_id(sobject, raw) if sobject else None
    if sobject is None or rid is None:
        return _err("MALFORMED_ID", f"Record ID: id value of incorrect type: {raw}")
    found = current(box, sobject, rid)
    if found is None or found[2]:
        return _err("ENTITY_IS_DELETED", "entity is deleted")
    errors = field_errors(sobject, body, creating=False)
    if errors:
        return errors
    return lambda: {"id": write(box, sobject, body, rid), "success": True, "errors": []}


def _plan_upsert(box: Box, sobject: str, field: str, value: Any, body: Any) -> Plan:
    if not isinstance(body, dict):
        return _err("JSON_PARSER_ERROR", "The request body must be a JSON object")
    if value in (None, ""):
        return _err("MISSING_ARGUMENT", f"{field} not specified")
    hits = find_external(box, sobject, str(value))
    if len(hits) > 1:
        return _err("DUPLICATE_EXTERNAL_ID",
                    f"{field}: more than one record found for external id field: {hits}")
    fields = {k: v for k, v in body.items() if k.lower() != "id"} | {field: value}
    errors = field_errors(sobject, fields, creating=not hits)
    if errors:
        return errors

    def run() -> Result:
        rid = write(box, sobject, fields, hits[0] if hits else None)
        return {"id": rid, "success": True, "errors": [], "created": not hits}
    return run


def _execute(plans: list[Plan], all_or_none: bool, *, upsert: bool = False) -> list[Result]:
    failed = any(not callable(p) for p in plans)
    results: list[Result] = []
    for plan in plans:
        if callable(plan) and not (all_or_none and failed):
            results.append(plan())
            continue
        errors = [_ROLLED_BACK] if callable(plan) else plan
        extra = {"created": False} if upsert else {}
        results.append({"success": False, "errors": errors, **extra})
    return results


def _records(body: Any) -> tuple[list[Any], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise BadRequest("JSON_PARSER_ERROR", "The request body must have a records array")
    if len(body["records"]) > MAX_RECORDS:
        raise BadRequest("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
                         f"{MAX_RECORDS} records into this call")
    return body["records"], bool(body.get("allOrNone", False))


def dispatch(box: Box, method: str, obj: str | None, field: str | None,
             params: dict[str, str], body: Any, version: str) -> tuple[int, Any]:
    """``/composite/sobjects[/{obj}[/{field}]]`` for every method; (status, JSON body)."""
    not_found = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    sobject = sobject_name(obj) if obj else None
    if obj and sobject is None:
        return 404, not_found
    if method == "POST" and sobject is None:
        records, all_or_none = _records(body)
        plans = [_plan_create(box, sobject_name(str(r.get("attributes", {}).get("type", "")))
                              or "", r) if _typed(r) else
                 _err("INVALID_TYPE", "Must send a concrete entity type.") for r in records]
        return 200, _execute(plans, all_or_none)
    if method == "PATCH" and sobject is None:
        records, all_or_none = _records(body)
        return 200, _execute([_plan_update(box, r) for r in records], all_or_none)
    if method == "PATCH" and sobject and field:
        ext = canonical_field(sobject, field)
        if ext != EXTERNAL_ID:
            return 404, [{"errorCode": "NOT_FOUND", "message": "Provided external ID field does "
                          f"not exist or is not accessible: {field}"}]
        records, all_or_none = _records(body)
        plans = [_plan_upsert(box, sobject, ext, r.get(ext) if isinstance(r, dict) else None, r)
                 for r in records]
        return 200, _execute(plans, all_or_none, upsert=True)
    if method == "DELETE" and sobject is None:
        return 200, _delete_many(box, params)
    if method == "GET" and sobject and not field:
        return 200, _read_many(box, sobject, params, version)
    return 404, not_found


def _typed(record: Any) -> bool:
    return isinstance(record, dict) and sobject_name(
        str(record.get("attributes", {}).get("type", ""))) is not None


def _delete_many(box: Box, params: dict[str, str]) -> list[Result]:
    ids = [i for i in params.get("ids", "").split(",") if i]
    if len(ids) > MAX_RECORDS:
        raise BadRequest("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
                         f"{MAX_RECORDS} records into this call")
    targets: list[tuple[str, str | None, str | None]] = []
    seen: set[str] = set()
    for raw in ids:
        sobject = sobject_of(raw)
        rid = resolve_id(sobject, raw) if sobject else None
        live = sobject is not None and rid is not None and rid not in seen and (
            (found := current(box, sobject, rid)) is not None and not found[2])
        seen.add(rid or raw)
        targets.append((raw, sobject if live else None, rid))
    failed = any(t[1] is None for t in targets)
    all_or_none = params.get("allOrNone", "false").lower() == "true"
    results: list[Result] = []
    for raw, sobject, rid in targets:
        if sobject is None or rid is None:
            results.append({"id": raw, "success": False,
                            "errors": _err("ENTITY_IS_DELETED", "entity is deleted")})
        elif all_or_none and failed:
            results.append({"id": rid, "success": False, "errors": [_ROLLED_BACK]})
        else:
            delete(box, sobject, rid)
            results.append({"id": rid, "success": True, "errors": []})
    return results


def _read_many(box: Box, sobject: str, params: dict[str, str],
               version: str) -> list[Any]:
    if box.count_data_call():
        mutate_first_records(box)
    ids = [i for i in params.get("ids", "").split(",") if i]
    names = [canonical_field(sobject, f.strip()) for f in params.get("fields", "").split(",")]
    if not ids or not params.get("fields") or None in names:
        raise BadRequest("INVALID_FIELD", "ids and fields must name existing records and fields")
    if len(ids) > 2000:
        raise BadRequest("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
                         "2000 records into this call")
    out: list[Any] = []
    for raw in ids:
        rid = resolve_id(sobject, raw)
        found = current(box, sobject, rid) if rid else None
        out.append(render(sobject, found[0], found[1], version, [n for n in names if n])
                   if found and not found[2] else None)
    return out


def replication(box: Box, sobject: str, kind: str, start: str | None,
                end: str | None) -> dict[str, Any]:
    """``updated`` / ``deleted``: the API ignores seconds, so both ends are floored to minutes."""
    if not start or not end:
        raise BadRequest("MISSING_ARGUMENT", "Both start and end must be specified")
    try:
        lo_ts, hi_ts = (parse_iso(start) // 60 * 60, parse_iso(end) // 60 * 60)
    except ValueError as exc:
        raise BadRequest("INVALID_REPLICATION_DATE", f"Invalid dateTime: {exc}") from exc
    if hi_ts <= lo_ts:
        raise BadRequest("INVALID_REPLICATION_DATE",
                         "EndDate must chronologically succeed startDate")
    covered = sf_datetime(min(hi_ts, time.time() // 60 * 60))
    if kind == "deleted":
        gone = sorted((tomb.deleted_at, rid) for rid, tomb in dataset(box).deleted(sobject).items()
                      if lo_ts <= tomb.deleted_at < hi_ts)
        return {"deletedRecords": [{"id": rid, "deletedDate": sf_datetime(ts)} for ts, rid in gone],
                "earliestDateAvailable": sf_datetime(EPOCH),
                "latestDateCovered": covered}
    ds = dataset(box)
    first = ds.first_index_modified_after(lo_ts)
    last = min(ds.count(sobject), ds.first_index_modified_after(hi_ts))
    if last - first > MAX_REPLICATION_IDS:
        raise BadRequest("EXCEEDED_ID_LIMIT", "The number of ids exceeded the limit of 600000; "
                         "use a shorter time range")
    touched = set(ds.overlay.get(sobject, {})) | ds.deleted(sobject).keys()
    ids = [rid for rid in (record_id(sobject, i) for i in range(first, max(first, last)))
           if rid not in touched]
    ids += [rid for rid, _, ts in ds.written(sobject) if lo_ts <= ts < hi_ts]
    return {"ids": ids, "latestDateCovered": covered}
