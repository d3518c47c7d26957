"""Each element as a markdown table, sent with it in the message: what a person reads
where the custom element cannot render (an old browser, a screen reader, a copy)."""

from __future__ import annotations

from typing import Any


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:120]


def table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _usage(card: dict[str, Any]) -> str:
    if not card["api_calls_limit"]:
        return f"{card['api_calls_today']} (no limit)"
    return f"{card['api_calls_today']} / {card['api_calls_limit']}"


def dashboard(props: dict[str, Any]) -> str:
    s = props["summary"]
    head = (f"**Overall health {s['overall_score']}/100 ({s['health']})** · API calls today "
            f"{s['api_calls_today']} of {s['api_calls_limit'] or 'no known limit'}")
    cards = table(["Integration", "Provider", "Status", "Score", "API calls today"],
                  [[c["name"], c["provider"], c["status"], c["health_score"], _usage(c)]
                   for c in props["integrations"]])
    return f"{head}\n\n{cards}"


def provider_browser(props: dict[str, Any]) -> str:
    return table(["Category", "Provider", "Auth", "Streams", "Connected"],
                 [[c["name"], p["display_name"], p["auth_type"], ", ".join(p["streams"]),
                   p["connected"]] for c in props["categories"] for p in c["providers"]])


def field_mapping(props: dict[str, Any]) -> str:
    flow = props["flow"]
    rows = table(["Source field", "Target field", "Rules"],
                 [[r["source"], r["target"], ", ".join(str(rule.get("rule", rule))
                                                      for rule in r["rules"])]
                  for r in props["rows"]])
    return f"**{flow['name']}** ({flow['integration']}, {flow['stream']})\n\n{rows}"


def workflow_builder(props: dict[str, Any]) -> str:
    return table(["Action", "What it does", "Parameters"],
                 [[a["type"], a.get("summary", ""),
                   ", ".join(a.get("params", {}).get("properties", {}))]
                  for a in props["actions"]])
