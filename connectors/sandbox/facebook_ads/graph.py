"""Graph API pieces of the Facebook Ads sandbox: errors, field selection, cursor paging,
campaign/ad set edges, insights and campaign writes.

Edges page over "slots": generated records by index, then written-only records. A
cursor names a slot, so ``after``/``before`` resume by arithmetic; filters skip
slots, which keeps pages full (as Graph's are) at the cost of scanning past misses.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from connectors.sandbox.facebook_ads import data
from connectors.sandbox.facebook_ads.state import Box, FacebookAdsState
from connectors.sandbox.kit import Dataset

MAX_LIMIT = 5000
_THROTTLE = {"ads_management": (80004, "There have been too many calls to this ad-account."),
             "ads_insights": (80000, "There have been too many calls from this ad-account.")}
Record = dict[str, Any]


class GraphError(Exception):
    def __init__(self, message: str, code: int, *, kind: str = "OAuthException",
                 status: int = 400, subcode: int | None = None, transient: bool | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.kind, self.status = message, code, kind, status
        self.subcode, self.transient, self.headers = subcode, transient, headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.kind, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.transient is not None:
            error["is_transient"] = self.transient
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:22]
        return {"error": error}


def param_error(message: str) -> GraphError:
    return GraphError(f"(#100) {message}", 100)


def unsupported(method: str, node: str) -> GraphError:
    return GraphError(f"Unsupported {method.lower()} request. Object with ID '{node}' does not "
                      "exist, cannot be loaded due to missing permissions, or does not support "
                      "this operation. Please read the Graph API documentation at "
                      "https://developers.facebook.com/docs/graph-api", 100,
                      kind="GraphMethodException", subcode=33)


@dataclass
class Call:
    """One Graph request, top-level or inside a batch."""

    method: str
    version: str
    parts: list[str]
    params: dict[str, Any]
    token: str | None
    base: str

    def url(self, **cursor: str) -> str:
        query = {k: v for k, v in self.params.items() if k not in ("after", "before")}
        query["limit"] = str(limit_of(self))  # the capped limit, as the next page will use it
        if self.token:
            query["access_token"] = self.token
        path = "/".join([self.version, *self.parts])
        return f"{self.base}/{path}?{urlencode({**query, **cursor})}"


def limit_of(call: Call) -> int:
    raw = str(call.params.get("limit") or 25)
    if not raw.isdigit() or int(raw) < 1:
        raise param_error("Param limit must be a positive integer")
    return min(int(raw), MAX_LIMIT)


def fields_of(call: Call, allowed: set[str], node_type: str, default: list[str]) -> list[str]:
    wanted = [f.strip() for f in str(call.params.get("fields") or "").split(",") if f.strip()]
    for name in wanted:
        if name not in allowed:
            raise param_error(f"Tried accessing nonexisting field ({name}) on node type "
                              f"({node_type})")
    return wanted or default


def pick(record: Record, fields: list[str]) -> Record:
    chosen = {name: record[name] for name in fields if name in record}
    return {"id": record["id"], **chosen} if "id" in record else chosen


def paged(call: Call, first: int, end: int, get: Callable[[int], Record | None],
          shape: Callable[[Record], Record]) -> dict[str, Any]:
    """A page of matching slots in ``[first, end)`` honouring limit/after/before."""
    limit = limit_of(call)
    after, before = call.params.get("after"), call.params.get("before")
    mark = data.read_cursor(str(after or before)) if (after or before) else None
    if (after or before) and mark is None:
        raise param_error(f"Invalid cursor: {after or before}")
    found: list[tuple[int, Record]] = []
    backward = bool(before) and not after
    slot = first if mark is None else (mark - 1 if backward else mark + 1)
    while first <= slot < end and len(found) <= limit:
        record = get(slot)
        if record is not None:
            found.append((slot, record))
        slot += -1 if backward else 1
    more = len(found) > limit
    found = found[:limit]
    if backward:
        found.reverse()
    answer: dict[str, Any] = {"data": [shape(record) for _, record in found]}
    if found:
        paging: dict[str, Any] = {"cursors": {"before": data.cursor(found[0][0]),
                                              "after": data.cursor(found[-1][0])}}
        if (more and not backward) or backward:
            paging["next"] = call.url(after=data.cursor(found[-1][0]))
        if (more and backward) or (after and not backward):
            paging["previous"] = call.url(before=data.cursor(found[0][0]))
        answer["paging"] = paging
    return answer


def _json_param(call: Call, name: str) -> Any:
    raw = call.params.get(name)
    if raw in (None, ""):
        return None
    if isinstance(raw, (list, dict)):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise param_error(f"Param {name} must be a JSON array or object") from None


def _timestamp(value: Any) -> float:
    """An ``updated_time`` filter value: Unix seconds, as a number or numeric string."""
    try:
        if isinstance(value, (int, float, str)):
            return float(value)
    except ValueError:
        pass
    # Anything else used to escape as an unhandled exception, i.e. an HTTP 500.
    raise param_error("Filtering value for updated_time must be a Unix timestamp")


def edge_filters(call: Call) -> tuple[set[str], float | None]:
    """(effective statuses to keep, updated_time lower bound) from the request's filters."""
    statuses: set[str] | None = None
    since: float | None = None
    chosen = _json_param(call, "effective_status")
    rules = _json_param(call, "filtering") or []
    if chosen is not None:
        rules = [*rules, {"field": "effective_status", "operator": "IN", "value": chosen}]
    for rule in rules if isinstance(rules, list) else [None]:
        if not isinstance(rule, dict):
            raise param_error("Param filtering must be an array of {field, operator, value}")
        name, op, value = rule.get("field"), rule.get("operator"), rule.get("value")
        if name == "effective_status" and op in ("IN", "NOT_IN") and isinstance(value, list):
            for n, status in enumerate(value):
                if status not in data.EFFECTIVE:
                    raise param_error(f"Param effective_status[{n}] must be one of "
                                      f"{{{', '.join(data.EFFECTIVE)}}}")
            keep = set(value) if op == "IN" else set(data.EFFECTIVE) - set(value)
            statuses = keep if statuses is None else statuses & keep
        elif name == "updated_time" and op in ("GREATER_THAN", "GREATER_THAN_OR_EQUAL"):
            bound = _timestamp(value) + (1 if op == "GREATER_THAN" else 0)
            since = bound if since is None else max(since, bound)
        else:
            raise param_error(f"Filtering field {name} with operation {op} is not supported")
    return statuses or set(data.EFFECTIVE) - {"DELETED"}, since


def list_campaigns(call: Call, ds: Dataset, a: int) -> dict[str, Any]:
    fields = fields_of(call, data.CAMPAIGN_FIELDS, "Campaign", ["id"])
    statuses, since = edge_filters(call)
    count = ds.count("campaigns")
    start = min(ds.first_index_modified_after(math.floor(since)) if since else 0, count)
    written = data.extras(ds, a, start)

    def get(slot: int) -> Record | None:
        key = data.campaign_id(a, slot) if slot < count else written[slot - count]
        record = data.campaign_at(ds, a, slot) if slot < count else ds.overlay[
            f"campaigns:{data.ACCOUNTS[a]}"][key]
        if record["effective_status"] not in statuses:
            return None
        return record if since is None or data.modified(ds, a, key) >= since else None

    return paged(call, start, count + len(written), get, lambda r: pick(r, fields))


def list_adsets(call: Call, ds: Dataset, a: int) -> dict[str, Any]:
    fields = fields_of(call, data.ADSET_FIELDS, "AdSet", ["id"])
    statuses, _ = edge_filters(call)
    per = ds.count("adsets_per_campaign")

    def get(slot: int) -> Record | None:
        record = data.gen_adset(ds, a, *divmod(slot, per))
        return record if record["effective_status"] in statuses else None

    return paged(call, 0, ds.count("campaigns") * per, get, lambda r: pick(r, fields))


def _date_span(call: Call, today: date) -> tuple[date, date]:
    window = _json_param(call, "time_range")
    if window is not None:
        try:
            since, until = date.fromisoformat(window["since"]), date.fromisoformat(window["until"])
        except (KeyError, TypeError, ValueError):
            raise param_error("param time_range must be an object with since and until dates "
                              "(YYYY-MM-DD)") from None
    else:
        preset = str(call.params.get("date_preset") or "last_30d")
        month = today.replace(day=1)
        spans = {"today": (today, today), "yesterday": (today - timedelta(1),) * 2,
                 "this_month": (month, today),
                 "last_month": ((month - timedelta(1)).replace(day=1), month - timedelta(1))}
        for n in (3, 7, 14, 28, 30, 90):
            spans[f"last_{n}d"] = (today - timedelta(n), today - timedelta(1))
        if preset not in spans:
            raise param_error(f"date_preset must be one of {{{', '.join(spans)}}}")
        since, until = spans[preset]
    if since > until:
        raise param_error("since should be less than or equal to until in time_range")
    if since < today - timedelta(days=37 * 30):
        raise GraphError("(#3018) The start date of the time range cannot be beyond 37 months "
                         "from the current date", 3018)
    return since, until


def insights(call: Call, ds: Dataset, seed: int, a: int, campaign: Record | None) -> dict[str, Any]:
    level = str(call.params.get("level") or ("campaign" if campaign else "account"))
    if level not in ("ad", "adset", "campaign", "account"):
        raise param_error("param level must be one of {ad, adset, campaign, account}")
    fields = fields_of(call, data.INSIGHT_FIELDS, "AdsInsights", ["impressions", "spend"])
    since, until = _date_span(call, datetime.now(UTC).date())
    step_raw = str(call.params.get("time_increment") or "all_days")
    days = (until - since).days + 1
    if step_raw != "all_days" and not (step_raw.isdigit() and 1 <= int(step_raw) <= 90):
        raise param_error("time_increment must be all_days or an integer from 1 to 90 "
                          "(monthly is not simulated by the sandbox)")
    step = days if step_raw == "all_days" else int(step_raw)
    count, per = ds.count("campaigns"), ds.count("adsets_per_campaign")
    base = data.CAMPAIGN_BASE + a * 10**9
    indices = [int(campaign["id"]) - base] if campaign else (
        list(range(count)) + [int(k) - base for k in data.extras(ds, a, 0)])
    identity = {"account_id": data.ACCOUNTS[a], "account_name": data.ACCOUNT_NAMES[a]}
    if level == "account":
        entities = [(-1, -1)]
    elif level == "campaign":
        entities = [(i, -1) for i in indices]
    else:
        entities = [(i, j) for i in indices if i < count for j in range(per)]

    def campaign_of(i: int) -> Record:
        if i < count:
            return data.campaign_at(ds, a, i)
        return ds.overlay[f"campaigns:{data.ACCOUNTS[a]}"][str(base + i)]

    def entity(e: int) -> tuple[Record, list[str]]:
        i, j = entities[e]
        if i < 0:
            return identity, [f"c{base + k}" for k in indices]
        parent = campaign_of(i)
        names = {**identity, "campaign_id": parent["id"], "campaign_name": parent["name"],
                 "objective": parent["objective"]}
        if j < 0:
            return names, [f"c{parent['id']}"]
        adset = data.gen_adset(ds, a, i, j)
        names.update(adset_id=adset["id"], adset_name=adset["name"])
        if level == "ad":
            names.update(ad_id=data.adset_id(a, i, j, data.AD_BASE),
                         ad_name=f"{adset['name']} / Ad 1")
        return names, [f"{level}{adset['id']}"]

    buckets = math.ceil(days / step)

    def row(r: int) -> Record | None:
        b, e = divmod(r, len(entities))
        first = since + timedelta(days=b * step)
        last = min(first + timedelta(days=step - 1), until)
        names, keys = entity(e)
        totals = [0] * 6
        for key in keys:
            for n in range((last - first).days + 1):
                one = data.day_metrics(seed, key, first + timedelta(days=n))
                totals = [x + y for x, y in zip(totals, one, strict=True)]
        values = {**names, **data.insight_values(totals)}
        return {**{f: values[f] for f in fields if f in values},
                "date_start": first.isoformat(), "date_stop": last.isoformat()}

    return paged(call, 0, buckets * len(entities), row, lambda r: r)


def create_campaign(ds: Dataset, state: FacebookAdsState, a: int, call: Call) -> dict[str, Any]:
    params = call.params
    for required in ("name", "objective", "special_ad_categories"):
        if params.get(required) in (None, ""):
            raise param_error(f"The parameter {required} is required")
    if params["objective"] not in data.OBJECTIVES:
        raise param_error(f"Param objective must be one of {{{', '.join(data.OBJECTIVES)}}}")
    categories = _json_param(call, "special_ad_categories")
    status = str(params.get("status") or "ACTIVE")
    if status not in ("ACTIVE", "PAUSED"):
        raise param_error("Param status must be one of {ACTIVE, PAUSED}")
    state.created_seq += 1
    key = data.campaign_id(a, data.CREATED_OFFSET + state.created_seq)
    record: Record = {"id": key, "account_id": data.ACCOUNTS[a], "name": str(params["name"]),
                      "status": status, "configured_status": status, "effective_status": status,
                      "objective": params["objective"], "buying_type": "AUCTION",
                      "daily_budget": str(params.get("daily_budget") or "0"),
                      "lifetime_budget": "0", "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
                      "special_ad_categories": categories if isinstance(categories, list) else []}
    stamp = data.fb_time(ds.put(f"campaigns:{data.ACCOUNTS[a]}", key, record))
    record.update(created_time=stamp, start_time=stamp, updated_time=stamp)
    return {"id": key}


def update_campaign(ds: Dataset, a: int, record: Record, params: dict[str, Any]) -> None:
    status = params.get("status")
    if status is not None and status not in data.STATUSES:
        raise param_error(f"Param status must be one of {{{', '.join(data.STATUSES)}}}")
    changed = dict(record)
    for name in ("name", "daily_budget", "lifetime_budget"):
        if params.get(name) not in (None, ""):
            changed[name] = str(params[name])
    if status:
        changed.update(status=status, configured_status=status, effective_status=status)
    stamp = ds.put(f"campaigns:{data.ACCOUNTS[a]}", record["id"], changed)
    changed["updated_time"] = data.fb_time(stamp)


def limits(box: Box) -> dict[str, Any]:
    """Calls per rolling window per ad account and use case, and per token for the app."""
    return box.state.limits


def usage(box: Box, token: str, kind: str, account: str | None
          ) -> dict[str, str]:
    """App usage per token and BUC usage per ad account; raises the throttle error when over."""
    knobs, now = limits(box), time.monotonic()
    hits = box.state.usage_hits
    queues = [hits.setdefault(("app", token), deque())]
    if account:
        queues.append(hits.setdefault((kind, account), deque()))
    for queue in queues:
        while queue and queue[0] <= now - knobs["window_s"]:
            queue.popleft()
    caps = [knobs["app_calls"], knobs[kind]]
    full = [len(q) >= cap for q, cap in zip(queues, caps, strict=False)]
    if not any(full):
        for queue in queues:
            queue.append(now)
    pct = [min(999, len(q) * 100 // cap) if cap else 100 for q, cap in
           zip(queues, caps, strict=False)]
    headers = {"X-App-Usage": json.dumps({"call_count": pct[0], "total_cputime": pct[0] // 2,
                                          "total_time": pct[0] // 2})}
    if account:
        wait = queues[1][0] + knobs["window_s"] - now if full[1] and queues[1] else 0
        headers["X-Business-Use-Case-Usage"] = json.dumps({account: [{
            "type": kind, "call_count": pct[1], "total_cputime": pct[1] // 2,
            "total_time": pct[1] // 2, "estimated_time_to_regain_access": math.ceil(wait / 60),
            "ads_api_access_tier": "standard_access"}]})
        if kind == "ads_insights":
            headers["X-FB-Ads-Insights-Throttle"] = json.dumps({
                "app_id_util_pct": pct[0], "acc_id_util_pct": pct[1],
                "ads_api_access_tier": "standard_access"})
        if full[1]:
            code, text = _THROTTLE[kind]
            raise GraphError(f"(#{code}) {text} Wait a bit and try again. For more info, "
                             "please refer to https://developers.facebook.com/docs/graph-api/"
                             "overview/rate-limiting.", code, subcode=2446079, headers=headers)
    if full[0]:
        raise GraphError("(#4) Application request limit reached", 4, transient=True,
                         headers=headers)
    return headers
