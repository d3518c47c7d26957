"""What the mapping and workflow editors may offer: the transformation rules with their
parameter names, and the condition operators, read from the engines that check them on
save, so an editor never offers what a save would refuse."""

from __future__ import annotations

from typing import Any

import jobs.mapping.rules  # noqa: F401  (each rule module registers itself)
from jobs.mapping.model import RULES
from jobs.workflows.conditions import OPS


def mapping_rules() -> list[dict[str, Any]]:
    return [{"rule": name, "params": list(rule.params)} for name, rule in sorted(RULES.items())]


def condition_operators() -> list[str]:
    return list(OPS)
