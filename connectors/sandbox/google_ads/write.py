"""Google Ads sandbox writes and the GoogleAdsFailure envelope they (and reads) fail with.

``campaigns:mutate`` checks every operation first: without ``partialFailure`` one bad
operation fails the request with every error listed and nothing applied; with it the
good operations are applied, failed ones get an empty result and the errors go to
``partialFailureError``. ``uploadClickConversions`` always runs in partial-failure
mode, as the real service insists.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox.google_ads.data import (
    CAMPAIGN_BASE,
    CHANNELS,
    CREATED_OFFSET,
    camel,
    campaign_at,
    created_campaigns,
    find_campaign,
)
from connectors.sandbox.google_ads.state import GoogleAdsState
from connectors.sandbox.kit import Dataset

MAX_MUTATE_OPERATIONS = 10_000
MAX_CONVERSIONS = 2_000
INVALID = "Request contains an invalid argument."
_UPDATABLE = {"name", "status", "start_date", "end_date"}
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
Path = list[tuple[str, int | None]]


def failure_detail(version: str, errors: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    return {"@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
            "errors": errors, "requestId": request_id}


def ads_error(family: str, code: str, message: str, path: Path | None = None,
              details: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"errorCode": {family: code}, "message": message}
    if path:
        error["location"] = {"fieldPathElements": [
            {"fieldName": name, **({"index": index} if index is not None else {})}
            for name, index in path]}
    if details:
        error["details"] = details
    return error


class AdsError(Exception):
    """An HTTP error in Google's envelope; ``errors`` become a GoogleAdsFailure detail."""

    def __init__(self, http: int, status: str, message: str,
                 errors: list[dict[str, Any]] | None = None,
                 raw_details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.http, self.status, self.message = http, status, message
        self.errors, self.raw_details, self.headers = errors, raw_details, headers or {}

    def body(self, version: str, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.http, "message": self.message,
                                 "status": self.status}
        if self.errors:
            error["details"] = [failure_detail(version, self.errors, request_id)]
        elif self.raw_details:
            error["details"] = self.raw_details
        return {"error": error}


def invalid(errors: list[dict[str, Any]]) -> AdsError:
    return AdsError(400, "INVALID_ARGUMENT", INVALID, errors)


def _partial(version: str, errors: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    first = errors[0]["message"]
    message = first if len(errors) == 1 else f"Multiple errors in 'details'. First error: {first}"
    return {"code": 3, "message": message,
            "details": [failure_detail(version, errors, request_id)]}


class _OpError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["message"])
        self.error = error


def _existing(ds: Dataset, customer: str, resource_name: Any, where: Path) -> dict[str, Any]:
    found = re.fullmatch(rf"customers/{customer}/campaigns/(\d+)", str(resource_name or ""))
    if not found:
        raise _OpError(ads_error("requestError", "RESOURCE_NAME_MALFORMED",
                                 "Resource name provided is malformed.", where))
    record = find_campaign(ds, customer, int(found[1]))
    if record is None:
        raise _OpError(ads_error("mutateError", "RESOURCE_NOT_FOUND", "Resource was not found.",
                                 where))
    return dict(record)


def _check_enum(value: Any, allowed: set[str] | tuple[str, ...], where: Path) -> None:
    if value not in allowed:
        raise _OpError(ads_error("fieldError", "INVALID_VALUE", "The field's value is invalid.",
                                 where))


def _name_taken(ds: Dataset, customer: str, name: str, staged: set[str]) -> bool:
    generated = re.match(r"Campaign #(\d+) ", name)
    if generated and int(generated[1]) < ds.count("campaigns") and (
            campaign_at(ds, customer, int(generated[1]))["name"] == name):
        return True
    return name in staged or any(c["name"] == name for c in created_campaigns(ds, customer))


def _stage(ds: Dataset, customer: str, state: GoogleAdsState, op: Any, i: int,
           names: set[str]) -> dict[str, Any]:
    """The record an operation would write (raising _OpError when it must fail)."""
    kinds = [k for k in ("create", "update", "remove") if isinstance(op, dict) and k in op]
    if len(kinds) != 1:
        raise _OpError(ads_error("requestError", "OPERATION_REQUIRED", "Mutate operation should "
                                 "have either create, update, or remove specified.",
                                 [("operations", i)]))
    kind, where = kinds[0], [("operations", i), (kinds[0], None)]
    if kind == "remove":
        return {**_existing(ds, customer, op["remove"], where), "status": "REMOVED"}
    fields = op[kind] if isinstance(op[kind], dict) else {}
    if kind == "update":
        record = _existing(ds, customer, fields.get("resourceName"), where)
        mask = [m.strip() for m in str(op.get("updateMask") or "").split(",") if m.strip()]
        if not mask:
            raise _OpError(ads_error("fieldMaskError", "FIELD_MASK_MISSING", "The field mask "
                                     "must be provided for update operations.", where))
        for path in mask:
            snake = re.sub(r"([A-Z])", r"_\1", path).lower()
            if snake not in _UPDATABLE:
                raise _OpError(ads_error("fieldMaskError", "FIELD_NOT_FOUND", "The field mask "
                                         f"contained an invalid field: '{path}'.", where))
            record[snake] = fields.get(camel(snake))
        if "status" in mask:
            _check_enum(record["status"], {"ENABLED", "PAUSED"}, [*where, ("status", None)])
        return record
    name = str(fields.get("name") or "")
    if not name:
        raise _OpError(ads_error("fieldError", "REQUIRED", "The required field was not present.",
                                 [*where, ("name", None)]))
    if _name_taken(ds, customer, name, names):
        raise _OpError(ads_error("campaignError", "DUPLICATE_CAMPAIGN_NAME",
                                 "A campaign already exists with this name.",
                                 [*where, ("name", None)]))
    status = fields.get("status", "ENABLED")
    _check_enum(status, {"ENABLED", "PAUSED"}, [*where, ("status", None)])
    channel = fields.get("advertisingChannelType", "SEARCH")
    _check_enum(channel, CHANNELS, [*where, ("advertisingChannelType", None)])
    state.created_seq += 1
    cid = CAMPAIGN_BASE[customer] + CREATED_OFFSET + state.created_seq
    names.add(name)
    today = datetime.now(UTC).date().isoformat()
    return {"resource_name": f"customers/{customer}/campaigns/{cid}", "id": cid, "name": name,
            "status": status, "advertising_channel_type": channel,
            "start_date": fields.get("startDate", today),
            "end_date": fields.get("endDate", "2037-12-30")}


def mutate_campaigns(ds: Dataset, customer: str, body: dict[str, Any], state: GoogleAdsState,
                     version: str, request_id: str) -> dict[str, Any]:
    ops = body.get("operations")
    if not isinstance(ops, list) or not ops:
        raise invalid([ads_error("fieldError", "REQUIRED_NONEMPTY_LIST",
                                 "The required repeated field was empty.",
                                 [("operations", None)])])
    if len(ops) > MAX_MUTATE_OPERATIONS:
        raise invalid([ads_error("requestError", "TOO_MANY_MUTATE_OPERATIONS",
                                 f"Too many mutate operations in a single request: {len(ops)} "
                                 f"(limit {MAX_MUTATE_OPERATIONS}).", [("operations", None)])])
    staged: list[tuple[int, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, op in enumerate(ops):
        try:
            staged.append((i, _stage(ds, customer, state, op, i, names)))
        except _OpError as failed:
            errors.append(failed.error)
    if errors and not body.get("partialFailure"):
        raise invalid(errors)
    if body.get("validateOnly"):
        return {}
    results: list[dict[str, Any]] = [{} for _ in ops]
    for i, record in staged:
        ds.put(f"campaigns:{customer}", str(record["id"]), record)
        results[i] = {"resourceName": record["resource_name"]}
        if body.get("responseContentType") == "MUTABLE_RESOURCE":
            results[i]["campaign"] = {camel(k): str(v) if k == "id" else v
                                      for k, v in record.items()}
    answer: dict[str, Any] = {"results": results}
    if errors:
        answer["partialFailureError"] = _partial(version, errors, request_id)
    return answer


def upload_click_conversions(ds: Dataset, customer: str, body: dict[str, Any], version: str,
                             request_id: str) -> dict[str, Any]:
    if body.get("partialFailure") is not True:
        raise invalid([ads_error("partialFailureError", "PARTIAL_FAILURE_MODE_REQUIRED",
                                 "The partial failure field was false in the request. This "
                                 "method requires this field be set to true.")])
    conversions = body.get("conversions")
    if not isinstance(conversions, list) or not conversions:
        raise invalid([ads_error("fieldError", "REQUIRED_NONEMPTY_LIST",
                                 "The required repeated field was empty.",
                                 [("conversions", None)])])
    if len(conversions) > MAX_CONVERSIONS:
        raise invalid([ads_error("conversionUploadError", "TOO_MANY_CONVERSIONS_IN_REQUEST",
                                 f"The request contained more than {MAX_CONVERSIONS} "
                                 "conversions.", [("conversions", None)])])
    obj = f"conversions:{customer}"
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    action_re = rf"customers/{customer}/conversionActions/\d+"
    for i, item in enumerate(conversions):
        item = item if isinstance(item, dict) else {}
        gclid, action = str(item.get("gclid") or ""), str(item.get("conversionAction") or "")
        when, key = str(item.get("conversionDateTime") or ""), None
        problem: tuple[str, str, str, str] | None  # (error family, code, message, field)
        if not re.fullmatch(r"[A-Za-z0-9_-]{10,}", gclid):
            problem = ("conversionUploadError", "UNPARSEABLE_GCLID", "The gclid could not be "
                       "decoded.", "gclid")
        elif not re.fullmatch(action_re, action):
            problem = ("conversionUploadError", "INVALID_CONVERSION_ACTION", "The conversion "
                       "action specified in the upload request cannot be found.",
                       "conversionAction")
        elif not _DATETIME.fullmatch(when):
            problem = ("dateError", "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET", "The string "
                       "date time's format should be yyyy-mm-dd hh:mm:ss+|-hh:mm.",
                       "conversionDateTime")
        else:
            key = f"{gclid}|{action}|{when}"
            problem = ("conversionUploadError", "CLICK_CONVERSION_ALREADY_EXISTS", "This "
                       "conversion was already reported.", "gclid") if key in ds.overlay.get(
                obj, {}) else None
        if problem:
            family, code, message, name = problem
            errors.append(ads_error(family, code, message, [("conversions", i), (name, None)]))
            results.append({})
            continue
        ds.put(obj, str(key), dict(item))
        results.append({"gclid": gclid, "conversionAction": action, "conversionDateTime": when})
    job = str(int.from_bytes(request_id.encode()[:5], "big"))
    answer: dict[str, Any] = {"results": results, "jobId": job}
    if errors:
        answer["partialFailureError"] = _partial(version, errors, request_id)
    return answer
