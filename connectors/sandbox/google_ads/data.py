"""Google Ads sandbox data: customers, lazy campaigns and ad groups, daily metrics, GAQL.

Campaign ``i`` of a customer has id ``CAMPAIGN_BASE[customer] + i``; ad group ``j`` of
campaign ``i`` has id ``AD_GROUP_BASE[customer] + 10 * i + j``. Metrics for one
entity on one day come from a hash of ``(seed, entity, day)``, so any row of a
``dates x entities`` result is computed from its row number alone. Only filters on
entity attributes materialise a list of matching entity indices, and only filters
or ordering on metrics materialise rows (capped at ``ROW_CAP``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from connectors.sandbox.google_ads.state import Box
from connectors.sandbox.kit import Dataset

DEFAULT_COUNTS = {"campaigns": 40, "ad_groups_per_campaign": 5}
PAGE_SIZE = 10_000
ROW_CAP = 200_000
FIRST_DAY = date(2024, 1, 1)
CREATED_OFFSET = 500_000_000
CUSTOMERS: dict[str, dict[str, Any]] = {
    "1234567890": {"descriptive_name": "Sandbox Outdoor Gear", "currency_code": "USD",
                   "time_zone": "America/New_York"},
    "9876543210": {"descriptive_name": "Sandbox Travel GmbH", "currency_code": "EUR",
                   "time_zone": "Europe/Berlin"},
}
CAMPAIGN_BASE = {"1234567890": 21_000_000_000, "9876543210": 22_000_000_000}
AD_GROUP_BASE = {"1234567890": 151_000_000_000, "9876543210": 152_000_000_000}
CHANNELS = ("SEARCH", "DISPLAY", "VIDEO", "SHOPPING", "PERFORMANCE_MAX")
ATTRS = {
    "campaign": {"resource_name", "id", "name", "status", "advertising_channel_type",
                 "start_date", "end_date"},
    "ad_group": {"resource_name", "id", "name", "status", "campaign", "type", "cpc_bid_micros"},
    "customer": {"resource_name", "id", "descriptive_name", "currency_code", "time_zone",
                 "manager", "test_account"},
    "metrics": {"impressions", "clicks", "cost_micros", "conversions", "conversions_value",
                "ctr", "average_cpc"},
    "segments": {"date"},
}
INT64 = {"campaign.id", "ad_group.id", "ad_group.cpc_bid_micros", "customer.id",
         "metrics.impressions", "metrics.clicks", "metrics.cost_micros"}
SELECTABLE = {"campaign": ("campaign", "customer", "metrics", "segments"),
              "ad_group": ("ad_group", "campaign", "customer", "metrics", "segments"),
              "customer": ("customer", "metrics", "segments")}
ENUMS = {"campaign.status": {"ENABLED", "PAUSED", "REMOVED"},
         "ad_group.status": {"ENABLED", "PAUSED", "REMOVED"},
         "campaign.advertising_channel_type": set(CHANNELS)}
_TOKEN = re.compile(r"\s*(?:('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(>=|<=|!=|=|<|>|\(|\)|,)"
                    r"|([A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?))")
_Comparable = TypeVar("_Comparable", float, str)  # a condition compares numbers or text


class GaqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def gen_campaign(ds: Dataset, customer: str, i: int) -> dict[str, Any]:
    rng = ds.rng(f"campaigns:{customer}", i)
    cid = CAMPAIGN_BASE[customer] + i
    channel = rng.choice(CHANNELS)
    return {"resource_name": f"customers/{customer}/campaigns/{cid}", "id": cid,
            "name": f"Campaign #{i} {channel.title()}",
            "status": rng.choices(("ENABLED", "PAUSED", "REMOVED"), (7, 2, 1))[0],
            "advertising_channel_type": channel,
            "start_date": (FIRST_DAY - timedelta(days=rng.randrange(365))).isoformat(),
            "end_date": "2037-12-30"}


def campaign_at(ds: Dataset, customer: str, i: int) -> dict[str, Any]:
    written = ds.overlay.get(f"campaigns:{customer}", {}).get(str(CAMPAIGN_BASE[customer] + i))
    return written or gen_campaign(ds, customer, i)


def created_campaigns(ds: Dataset, customer: str) -> list[dict[str, Any]]:
    base, count = CAMPAIGN_BASE[customer], ds.count("campaigns")
    return [record for key, record, _ in ds.written(f"campaigns:{customer}")
            if not 0 <= int(key) - base < count]


def find_campaign(ds: Dataset, customer: str, cid: int) -> dict[str, Any] | None:
    written = ds.overlay.get(f"campaigns:{customer}", {}).get(str(cid))
    if written is not None:
        return written
    i = cid - CAMPAIGN_BASE[customer]
    return gen_campaign(ds, customer, i) if 0 <= i < ds.count("campaigns") else None


def customer_record(customer: str) -> dict[str, Any]:
    return {"resource_name": f"customers/{customer}", "id": int(customer), "manager": False,
            "test_account": True, **CUSTOMERS[customer]}


def ad_group_at(ds: Dataset, customer: str, i: int, j: int) -> dict[str, Any]:
    campaign = campaign_at(ds, customer, i)
    rng = ds.rng(f"ad_groups:{customer}", i * 100 + j)
    agid = AD_GROUP_BASE[customer] + 10 * i + j
    status = "REMOVED" if campaign["status"] == "REMOVED" else rng.choice(("ENABLED", "PAUSED"))
    return {"resource_name": f"customers/{customer}/adGroups/{agid}", "id": agid,
            "name": f"Ad group {j + 1} of campaign #{i}", "status": status,
            "campaign": campaign["resource_name"], "type": "SEARCH_STANDARD",
            "cpc_bid_micros": 100_000 * (5 + rng.randrange(40))}


def day_metrics(seed: int, key: str, day: date) -> list[float]:
    """[impressions, clicks, cost_micros, conversions, conversions_value] for one entity-day."""
    digest = hashlib.blake2b(f"{seed}:{key}:{day.toordinal()}".encode(), digest_size=20).digest()
    n = [int.from_bytes(digest[i:i + 4], "big") for i in range(0, 20, 4)]
    impressions = 100 + n[0] % 4900
    clicks = impressions * (5 + n[1] % 95) // 1000
    cost = clicks * (150_000 + n[2] % 1_850_000) // 10_000 * 10_000
    conversions = round(clicks * (n[3] % 120) / 1000, 2)
    return [impressions, clicks, cost, conversions, round(conversions * (10 + n[4] % 90), 2)]


def metrics_json(totals: list[float]) -> dict[str, Any]:
    impressions, clicks, cost, conversions, value = totals
    return {"impressions": int(impressions), "clicks": int(clicks), "cost_micros": int(cost),
            "conversions": round(conversions, 2), "conversions_value": round(value, 2),
            "ctr": clicks / impressions if impressions else 0.0,
            "average_cpc": cost / clicks if clicks else 0.0}


@dataclass
class Cond:
    field: str
    op: str
    values: list[Any]


@dataclass
class Query:
    fields: list[str]
    resource: str
    conds: list[Cond] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None
    first: date | None = None
    last: date | None = None


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        text, pos = text.rstrip(), 0
        while pos < len(text):
            found = _TOKEN.match(text, pos)
            if not found:
                rest = text[pos:].lstrip()
                code = "STRING_NOT_TERMINATED" if rest[:1] in "'\"" else "BAD_SYMBOL"
                raise GaqlError(code, f"Error in query: unexpected input {rest[:20]}.")
            kind = "str" if found.group(1) else "op" if found.group(2) else "word"
            value = found.group(1)[1:-1] if kind == "str" else found.group(2) or found.group(3)
            self.tokens.append((kind, value))
            pos = found.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise GaqlError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() == word:
            self.i += 1
            return True
        return False

    def punct(self, symbol: str) -> bool:
        if self.peek() == ("op", symbol):
            self.i += 1
            return True
        return False

    def name(self) -> str:
        kind, value = self.take()
        if kind != "word":
            raise GaqlError("BAD_FIELD_NAME", f"Error in query: unexpected input {value}.")
        return value.lower()

    def value(self) -> Any:
        kind, value = self.take()
        if kind == "word" and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value) if "." in value else int(value)
        if kind == "op":
            raise GaqlError("BAD_VALUE", f"Error in query: unexpected input {value}.")
        return value

    def condition(self) -> Cond:
        name = self.name()
        kind, op = self.take()
        if kind == "op" and op in ("=", "!=", "<", ">", "<=", ">="):
            return Cond(name, op, [self.value()])
        word = op.upper()
        if word == "NOT" and self.keyword("IN"):
            word = "NOT IN"
        if word in ("IN", "NOT IN"):
            if not self.punct("("):
                raise GaqlError("EXPECTED_LIST", "Error in query: expected a list after IN.")
            values = [self.value()]
            while self.punct(","):
                values.append(self.value())
            if not self.punct(")"):
                raise GaqlError("EXPECTED_LIST", "Error in query: expected ')'.")
            return Cond(name, word, values)
        if word == "BETWEEN":
            low = self.value()
            if not self.keyword("AND"):
                raise GaqlError("EXPECTED_AND", "Expected AND between values with BETWEEN.")
            return Cond(name, "BETWEEN", [low, self.value()])
        if word == "DURING":
            return Cond(name, "DURING", [self.take()[1].upper()])
        raise GaqlError("BAD_OPERATOR", f"Error in query: invalid operator {op}.")


def _day(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise GaqlError("BAD_VALUE", f"Invalid date value: '{value}'.") from None


def _during(name: str, today: date) -> tuple[date, date]:
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    spans = {"TODAY": (today, today), "YESTERDAY": (today - timedelta(1), today - timedelta(1)),
             "THIS_MONTH": (month_start, today),
             "LAST_MONTH": (last_month_end.replace(day=1), last_month_end)}
    for days in (7, 14, 30):
        spans[f"LAST_{days}_DAYS"] = (today - timedelta(days), today - timedelta(1))
    if name not in spans:
        raise GaqlError("INVALID_VALUE_WITH_DURING_OPERATOR", f"Invalid DURING value: {name}.")
    return spans[name]


def parse(text: str, today: date) -> Query:
    p = _Parser(text)
    if not p.keyword("SELECT"):
        raise GaqlError("EXPECTED_SELECT", "Error in query: expected SELECT.")
    fields = [p.name()]
    while p.punct(","):
        fields.append(p.name())
    if not p.keyword("FROM"):
        raise GaqlError("EXPECTED_FROM", "Error in query: expected FROM.")
    query = Query(fields, p.name())
    if p.keyword("WHERE"):
        query.conds.append(p.condition())
        while p.keyword("AND"):
            query.conds.append(p.condition())
    if p.keyword("ORDER"):
        if not p.keyword("BY"):
            raise GaqlError("EXPECTED_BY", "Error in query: expected BY after ORDER.")
        while True:
            name = p.name()
            query.order.append((name, p.keyword("DESC") or (p.keyword("ASC") and False)))
            if not p.punct(","):
                break
    if p.keyword("LIMIT"):
        _, raw = p.take()
        if not raw.isdigit():
            raise GaqlError("BAD_LIMIT_VALUE", f"Invalid LIMIT value: {raw}.")
        if int(raw) < 1:
            raise GaqlError("LIMIT_VALUE_TOO_LOW", "LIMIT must be at least 1.")
        query.limit = int(raw)
    if p.keyword("PARAMETERS"):
        p.i = len(p.tokens)
    extra = p.peek()
    if extra:
        raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected input {extra[1]}.")
    _validate(query, today)
    return query


def _validate(query: Query, today: date) -> None:
    if query.resource not in SELECTABLE:
        raise GaqlError("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                        f"Invalid resource type in FROM clause: '{query.resource}'.")
    clauses = [("SELECT", f) for f in query.fields] + [("WHERE", c.field) for c in query.conds]
    for clause, name in clauses + [("ORDER_BY", f) for f, _ in query.order]:
        prefix, _, attr = name.partition(".")
        if attr not in ATTRS.get(prefix, ()):
            raise GaqlError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.")
        if prefix not in SELECTABLE[query.resource]:
            code = "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE" if clause == "ORDER_BY" else (
                f"PROHIBITED_RESOURCE_TYPE_IN_{clause}_CLAUSE")
            raise GaqlError(code, f"Cannot use fields from the following resource: '{prefix}', "
                            "since the resource is incompatible with the resource in FROM clause.")
    for cond in query.conds:
        if cond.field == "segments.date":
            low, high = _date_bounds(cond, today)
            query.first = max(filter(None, (query.first, low)), default=None)
            query.last = min(filter(None, (query.last, high)), default=None)
        elif cond.field in ENUMS and any(str(v) not in ENUMS[cond.field] for v in cond.values):
            raise GaqlError("BAD_ENUM_CONSTANT", f"Invalid enum value in {cond.field} condition.")
    if query.first and query.last and query.first > query.last:
        raise GaqlError("DATE_RANGE_TOO_NARROW", "Filters on date/week/month/quarter have a "
                        "start date after end date.")
    if "segments.date" in query.fields and not (query.first and query.last):
        raise GaqlError("EXPECTED_FILTERS_ON_DATE_RANGE",
                        "Missing filters on date related fields: selecting segments.date "
                        "requires a finite date range in WHERE.")


def _date_bounds(cond: Cond, today: date) -> tuple[date | None, date | None]:
    if cond.op == "DURING":
        return _during(cond.values[0], today)
    if cond.op == "BETWEEN":
        return _day(cond.values[0]), _day(cond.values[1])
    if cond.op not in ("=", ">=", ">", "<=", "<"):
        raise GaqlError("BAD_OPERATOR", f"Operator {cond.op} is not valid for segments.date.")
    day = _day(cond.values[0])
    shift = {">": 1, "<": -1}.get(cond.op, 0)
    day += timedelta(days=shift)
    return (day if cond.op != "<" and cond.op != "<=" else None,
            day if cond.op not in (">", ">=") else None)


def matches(value: Any, cond: Cond) -> bool:
    """Compare as numbers when both sides are numeric, as text otherwise."""
    try:
        number, numbers = float(value), [float(v) for v in cond.values]
    except (TypeError, ValueError):
        return _holds(cond, str(value), [str(v) for v in cond.values])
    return _holds(cond, number, numbers)


def _holds(cond: Cond, value: _Comparable, operands: list[_Comparable]) -> bool:
    first = operands[0]
    checks: dict[str, Callable[[], bool]] = {
        "=": lambda: value == first, "!=": lambda: value != first,
        "<": lambda: value < first, ">": lambda: value > first,
        "<=": lambda: value <= first, ">=": lambda: value >= first,
        "IN": lambda: any(value == b for b in operands),
        "NOT IN": lambda: all(value != b for b in operands),
        "BETWEEN": lambda: first <= value <= operands[1]}
    if cond.op not in checks:
        raise GaqlError("BAD_OPERATOR", f"Operator {cond.op} is not valid for {cond.field}.")
    return checks[cond.op]()


def lead_payload(box: Box, payload: Any) -> dict[str, Any]:
    """A lead-form webhook body (Google's WebhookLead JSON) with ``payload`` overriding fields."""
    box.state.lead_seq += 1
    lead: dict[str, Any] = {
        "lead_id": f"TeSter-{box.state.lead_seq:03d}-{secrets.token_hex(6)}",
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Ada Lovelace", "column_id": "FULL_NAME"},
            {"column_name": "User Email", "string_value": "ada@example.com",
             "column_id": "EMAIL"},
            {"column_name": "User Phone", "string_value": "+16505550100",
             "column_id": "PHONE_NUMBER"}],
        "api_version": "1.0", "form_id": 40_000_000_001,
        "campaign_id": CAMPAIGN_BASE["1234567890"], "google_key": box.webhook_secret,
        "is_test": True, "gcl_id": "EAIaIQobChMI-sandbox", "adgroup_id": AD_GROUP_BASE[
            "1234567890"], "creative_id": 600_000_000_001,
        "lead_submit_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    lead.update(payload if isinstance(payload, dict) else {})
    return lead
