"""Facebook Ads sandbox data: ids, lazily generated campaigns/ad sets/ads, insight metrics.

Campaign ``i`` of ad account ``a`` has id ``CAMPAIGN_BASE + a * 10**9 + i``; its ad
set ``j`` is ``ADSET_BASE + a * 10**11 + 10 * i + j`` and that ad set's single ad uses
``AD_BASE`` the same way, so every id decodes back to its indices. Campaign ``i``
was last updated at ``Dataset.modified_at(i)``; writes land in the overlay under
``campaigns:<account id>``. Insight metrics come from a hash of (entity, day).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, date, datetime
from typing import Any

from connectors.sandbox.kit import Dataset

DEFAULT_COUNTS = {"campaigns": 60, "adsets_per_campaign": 3}
STEP_S = 60
ACCOUNTS = ("100000000000001", "100000000000002")
ACCOUNT_NAMES = ("Sandbox Outdoor Gear", "Sandbox Travel")
USER_ID = "10000000000000001"
USER_NAME = "Sandbox Marketer"
CAMPAIGN_BASE = 120_200_000_000_000_000
ADSET_BASE = 120_210_000_000_000_000
AD_BASE = 120_220_000_000_000_000
CREATED_OFFSET = 500_000_000
OBJECTIVES = ("OUTCOME_AWARENESS", "OUTCOME_TRAFFIC", "OUTCOME_ENGAGEMENT", "OUTCOME_LEADS",
              "OUTCOME_APP_PROMOTION", "OUTCOME_SALES")
STATUSES = ("ACTIVE", "PAUSED", "DELETED", "ARCHIVED")
EFFECTIVE = ("ACTIVE", "PAUSED", "DELETED", "PENDING_REVIEW", "DISAPPROVED", "PREAPPROVED",
             "PENDING_BILLING_INFO", "CAMPAIGN_PAUSED", "ARCHIVED", "ADSET_PAUSED",
             "IN_PROCESS", "WITH_ISSUES")
CAMPAIGN_FIELDS = {"id", "account_id", "name", "status", "effective_status", "configured_status",
                   "objective", "buying_type", "daily_budget", "lifetime_budget",
                   "budget_remaining", "bid_strategy", "special_ad_categories", "start_time",
                   "stop_time", "created_time", "updated_time"}
ADSET_FIELDS = {"id", "account_id", "campaign_id", "name", "status", "effective_status",
                "configured_status", "daily_budget", "billing_event", "optimization_goal",
                "start_time", "created_time", "updated_time"}
ACCOUNT_FIELDS = {"id", "account_id", "name", "account_status", "currency", "timezone_name",
                  "amount_spent", "business_name"}
INSIGHT_FIELDS = {"account_id", "account_name", "campaign_id", "campaign_name", "adset_id",
                  "adset_name", "ad_id", "ad_name", "objective", "impressions", "clicks",
                  "spend", "reach", "frequency", "ctr", "cpc", "cpm", "actions",
                  "action_values", "date_start", "date_stop"}


def fb_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def cursor(slot: int) -> str:
    return base64.urlsafe_b64encode(f"slot:{slot}".encode()).decode().rstrip("=")


def read_cursor(value: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    head, _, slot = text.partition(":")
    return int(slot) if head == "slot" and slot.isdigit() else None


def campaign_id(a: int, i: int) -> str:
    return str(CAMPAIGN_BASE + a * 10**9 + i)


def adset_id(a: int, i: int, j: int, base: int = ADSET_BASE) -> str:
    return str(base + a * 10**11 + 10 * i + j)


def decode(ds: Dataset, node: str) -> tuple[str, int, int, int] | None:
    """('campaign'|'adset'|'ad', account index, campaign index, ad set index) for an id."""
    if not node.isdigit():
        return None
    value = int(node)
    if 0 <= value - CAMPAIGN_BASE < len(ACCOUNTS) * 10**9:
        a, i = divmod(value - CAMPAIGN_BASE, 10**9)
        return ("campaign", a, i, 0) if i < ds.count("campaigns") or i >= CREATED_OFFSET else None
    for kind, base in (("adset", ADSET_BASE), ("ad", AD_BASE)):
        if 0 <= value - base < len(ACCOUNTS) * 10**11:
            a, rest = divmod(value - base, 10**11)
            i, j = divmod(rest, 10)
            if i < ds.count("campaigns") and j < ds.count("adsets_per_campaign"):
                return kind, a, i, j
    return None


def gen_campaign(ds: Dataset, a: int, i: int) -> dict[str, Any]:
    rng = ds.rng(f"campaigns:{a}", i)
    updated = ds.modified_at(i)
    created = updated - rng.randrange(1, 30 * 86_400)
    status = rng.choices(("ACTIVE", "PAUSED", "ARCHIVED"), (6, 3, 1))[0]
    daily = 1000 * (5 + rng.randrange(95))
    return {"id": campaign_id(a, i), "account_id": ACCOUNTS[a],
            "name": f"Campaign {i} - {rng.choice(('Spring', 'Retargeting', 'Brand', 'Promo'))}",
            "status": status, "configured_status": status, "effective_status": status,
            "objective": rng.choice(OBJECTIVES), "buying_type": "AUCTION",
            "daily_budget": str(daily), "lifetime_budget": "0",
            "budget_remaining": str(daily - rng.randrange(daily)),
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP", "special_ad_categories": [],
            "start_time": fb_time(created), "created_time": fb_time(created),
            "updated_time": fb_time(updated)}


def campaign_at(ds: Dataset, a: int, i: int) -> dict[str, Any]:
    return ds.overlay.get(f"campaigns:{ACCOUNTS[a]}", {}).get(campaign_id(a, i)) or gen_campaign(
        ds, a, i)


def extras(ds: Dataset, a: int, start: int) -> list[str]:
    """Written campaign ids that do not sit in the generated range ``[start, count)``."""
    out = []
    for key, _, _ in ds.written(f"campaigns:{ACCOUNTS[a]}"):
        i = int(key) - CAMPAIGN_BASE - a * 10**9
        if not start <= i < ds.count("campaigns"):
            out.append(key)
    return out


def modified(ds: Dataset, a: int, key: str) -> float:
    written = ds.overlay_time.get(f"campaigns:{ACCOUNTS[a]}", {}).get(key)
    return written if written is not None else ds.modified_at(
        int(key) - CAMPAIGN_BASE - a * 10**9)


def gen_adset(ds: Dataset, a: int, i: int, j: int) -> dict[str, Any]:
    parent = campaign_at(ds, a, i)
    rng = ds.rng(f"adsets:{a}", i * 100 + j)
    status = rng.choice(("ACTIVE", "ACTIVE", "PAUSED"))
    effective = {"PAUSED": "CAMPAIGN_PAUSED", "DELETED": "DELETED", "ARCHIVED": "ARCHIVED"}.get(
        parent["status"], status)
    return {"id": adset_id(a, i, j), "account_id": ACCOUNTS[a], "campaign_id": parent["id"],
            "name": f"{parent['name']} / Ad set {j + 1}", "status": status,
            "configured_status": status, "effective_status": effective,
            "daily_budget": str(1000 * (1 + rng.randrange(20))), "billing_event": "IMPRESSIONS",
            "optimization_goal": rng.choice(("LINK_CLICKS", "REACH", "OFFSITE_CONVERSIONS")),
            "start_time": parent["start_time"], "created_time": parent["created_time"],
            "updated_time": parent["updated_time"]}


def account_record(a: int) -> dict[str, Any]:
    return {"id": f"act_{ACCOUNTS[a]}", "account_id": ACCOUNTS[a], "name": ACCOUNT_NAMES[a],
            "account_status": 1, "currency": ("USD", "EUR")[a],
            "timezone_name": ("America/Los_Angeles", "Europe/Berlin")[a],
            "amount_spent": str(1_234_567 * (a + 1)), "business_name": "Connectus Sandbox"}


def day_metrics(seed: int, key: str, day: date) -> list[int]:
    """[impressions, clicks, spend in cents, reach, purchases, purchase value in cents]."""
    digest = hashlib.blake2b(f"{seed}:{key}:{day.toordinal()}".encode(), digest_size=24).digest()
    n = [int.from_bytes(digest[i:i + 4], "big") for i in range(0, 24, 4)]
    impressions = 200 + n[0] % 9800
    clicks = impressions * (3 + n[1] % 60) // 1000
    reach = impressions * (60 + n[3] % 35) // 100
    purchases = clicks * (n[4] % 10) // 100
    return [impressions, clicks, clicks * (20 + n[2] % 180), reach, purchases,
            purchases * (1500 + n[5] % 8500)]


def insight_values(totals: list[int]) -> dict[str, Any]:
    impressions, clicks, cents, reach, purchases, value = totals
    spend = cents / 100
    return {"impressions": str(impressions), "clicks": str(clicks), "spend": f"{spend:.2f}",
            "reach": str(reach), "frequency": f"{impressions / reach:.6f}" if reach else "0",
            "ctr": f"{clicks / impressions * 100:.6f}" if impressions else "0",
            "cpc": f"{spend / clicks:.6f}" if clicks else "0",
            "cpm": f"{spend / impressions * 1000:.6f}" if impressions else "0",
            "actions": [{"action_type": "link_click", "value": str(clicks)},
                        {"action_type": "purchase", "value": str(purchases)}],
            "action_values": [{"action_type": "purchase", "value": f"{value / 100:.2f}"}]}

