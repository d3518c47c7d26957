"""The eval cases themselves, and the offline model measured alone over all of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.offline import OfflineChatModel
from evals.agent.cases import DEFAULT_CASES, load_cases
from evals.agent.contract import TOOLS
from evals.agent.matching import args_right
from evals.agent.model_only import run_model_only
from tools.context import ConfigError


def test_the_cases_cover_every_tool_with_follow_ups_and_a_held_out_part() -> None:
    cases = load_cases(DEFAULT_CASES)
    assert len(cases) >= 150
    assert set(TOOLS) <= {c.expected_tool for c in cases}
    assert {c.expected_tool for c in cases} - {None} <= set(TOOLS)
    assert sum(bool(c.history) for c in cases) >= 8
    assert sum(c.split == "held_out" for c in cases) >= 40


def test_the_offline_model_meets_its_targets_on_tuned_and_held_out_cases() -> None:
    result = run_model_only(OfflineChatModel(), load_cases(DEFAULT_CASES))
    for split in ("tuned", "held_out"):
        assert result["by_split"][split]["tool_accuracy"] >= 0.9, split
        assert result["by_split"][split]["arg_accuracy"] >= 0.85, split
    assert len(result["cases"]) == len(load_cases(DEFAULT_CASES))


def test_a_bad_case_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "q", "expected_tool": None}) +
                    "\n{not json\n")
    with pytest.raises(ConfigError, match=r"cases.jsonl:2: not JSON"):
        load_cases(path)
    path.write_text(json.dumps({"id": "a", "question": "q"}) + "\n")
    with pytest.raises(ConfigError, match="missing expected_tool"):
        load_cases(path)


def test_matching_ignores_case_and_spacing_and_checks_time_windows() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert args_right({"integration": "Google Ads"}, {"integration": "google_ads"}, now)
    assert not args_right({"integration": "Google Ads"}, {"integration": "Facebook Ads"}, now)
    assert not args_right({"integration": "HubSpot"}, {}, now)
    assert args_right({"source_fields": ["email", "phone"]},
                      {"source_fields": ["Phone", "email"]}, now)
    window = {"since": {"$hours_ago": [71, 73]}}
    assert args_right(window, {"since": "2026-11-29T12:00:00Z"}, now)
    assert not args_right(window, {"since": "2026-12-01T12:00:00Z"}, now)
    assert not args_right(window, {"since": "last week"}, now)


def test_repeat_reports_pass_k_over_every_try() -> None:
    cases = load_cases(DEFAULT_CASES)[:6]
    result = run_model_only(OfflineChatModel(), cases, repeat=3)
    assert result["repeat"] == 3 and len(result["cases"]) == 6
    # the offline model is deterministic: every try of a case agrees with its first
    assert result["pass_k"] == result["arg_accuracy"]
