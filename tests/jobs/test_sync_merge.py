"""The three-way merge of one both-ways record, case by case (no database, no provider)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobs.sync.merge import Incoming, Local, merge, pending_fields, settle
from jobs.sync.sides import Side

SIDES = (Side("name", "properties.firstname", "both"),
         Side("email", "properties.email", "provider"),
         Side("team", "properties.company", "connectus"))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def local(data: dict[str, Any], base: dict[str, Any] | None = None,
          remote: dict[str, Any] | None = None, at: datetime | None = T0,
          held: frozenset[str] = frozenset()) -> Local:
    base = dict(data) if base is None else base
    remote = {"properties.firstname": base.get("name"),
              "properties.company": base.get("team")} if remote is None else remote
    return Local(data, base, remote, at, held)


def incoming(name: Any, email: Any = "a@x", team: Any = "T", *, mapped_name: Any = None,
             at: datetime | None = T0) -> Incoming:
    """HubSpot's record: ``name`` as HubSpot holds it, ``mapped_name`` as the inbound rules
    make it (the same unless given)."""
    return Incoming({"name": name if mapped_name is None else mapped_name, "email": email,
                     "team": team},
                    {"properties.firstname": name, "properties.company": team}, at)


AGREED = {"name": "Ada", "email": "a@x", "team": "T"}


def test_nothing_new_is_nothing() -> None:
    out = merge(SIDES, "owner", local(AGREED), incoming("Ada"))
    assert (out.data, out.base, out.news, out.conflicts) == (AGREED, AGREED, False, {})


def test_our_echo_is_no_change_even_when_the_rules_would_transform_it() -> None:
    # we wrote "grace"; HubSpot sends "grace" back, which the rules make "GRACE"
    ours = {**AGREED, "name": "grace"}
    out = merge(SIDES, "owner", local(ours), incoming("grace", mapped_name="GRACE"))
    assert out.data == ours and not out.news and not pending_fields(SIDES, out.data, out.base)


def test_a_provider_change_flows_in_and_is_agreed() -> None:
    out = merge(SIDES, "owner", local(AGREED), incoming("Grace"))
    assert out.data["name"] == out.base["name"] == "Grace" and out.news
    assert out.remote_base["properties.firstname"] == "Grace"
    assert not pending_fields(SIDES, out.data, out.base)


def test_a_provider_reformatting_what_we_wrote_converges_without_writing_back() -> None:
    ours = {**AGREED, "name": "grace"}
    out = merge(SIDES, "owner", local(ours), incoming("Grace"))
    assert out.data["name"] == "Grace" and not pending_fields(SIDES, out.data, out.base)


def test_a_change_here_stays_waiting_to_be_written() -> None:
    ours = {**AGREED, "name": "Grace"}
    out = merge(SIDES, "owner", local(ours, base=AGREED), incoming("Ada"))
    assert out.data == ours and [s.local for s in pending_fields(
        SIDES, out.data, out.base)] == ["name"]


def test_both_changed_differently_is_a_conflict_for_a_person() -> None:
    ours = {**AGREED, "name": "Ours"}
    out = merge(SIDES, "owner", local(ours, base=AGREED), incoming("Theirs"))
    assert out.conflicts == {"name": ("Ours", "Theirs", "Ada")} and out.held == {"name"}
    assert out.data["name"] == "Ours" and out.base["name"] == "Ada"
    assert not pending_fields(SIDES, out.data, out.base, out.held)  # held: written nowhere


def test_both_changed_to_the_same_value_is_agreed() -> None:
    ours = {**AGREED, "name": "Same"}
    out = merge(SIDES, "owner", local(ours, base=AGREED), incoming("Same"))
    assert not out.conflicts and out.base["name"] == "Same"


@pytest.mark.parametrize(("ours_at", "winner"), [
    (T0 + timedelta(seconds=1), "Ours"), (T0 - timedelta(seconds=1), "Theirs"),
    (T0, "Theirs")])  # a tie goes to the provider
def test_newest_wins_by_the_change_times(ours_at: datetime, winner: str) -> None:
    ours = {**AGREED, "name": "Ours"}
    out = merge(SIDES, "newest_wins", local(ours, base=AGREED, at=ours_at),
                incoming("Theirs", at=T0))
    assert not out.conflicts and out.data["name"] == winner
    assert bool(pending_fields(SIDES, out.data, out.base)) == (winner == "Ours")


def test_newest_wins_without_a_time_asks_a_person() -> None:
    ours = {**AGREED, "name": "Ours"}
    out = merge(SIDES, "newest_wins", local(ours, base=AGREED), incoming("Theirs", at=None))
    assert set(out.conflicts) == {"name"}


def test_the_providers_field_always_takes_the_provider_value() -> None:
    out = merge(SIDES, "owner", local({**AGREED, "email": "mine@x"}, base=AGREED),
                incoming("Ada", email="b@x"))
    assert out.data["email"] == out.base["email"] == "b@x"


def test_a_field_connectus_owns_is_not_taken_in_and_not_seen_again() -> None:
    out = merge(SIDES, "owner", local(AGREED), incoming("Ada", team="Theirs"))
    assert out.data["team"] == "T" and out.remote_base["properties.company"] == "Theirs"
    assert not pending_fields(SIDES, out.data, out.base)
    again = merge(SIDES, "owner", Local(out.data, out.base, out.remote_base, T0),
                  incoming("Ada", team="Theirs"))
    assert not again.news


def test_a_field_connectus_owns_changed_on_both_sides_is_written_out() -> None:
    ours = {**AGREED, "team": "Ours"}
    out = merge(SIDES, "owner", local(ours, base=AGREED), incoming("Ada", team="Theirs"))
    assert not out.conflicts and out.data["team"] == "Ours" and out.base["team"] == "Theirs"
    assert [s.local for s in pending_fields(SIDES, out.data, out.base)] == ["team"]


def test_an_open_conflict_follows_the_provider_and_closes_when_both_agree() -> None:
    ours = {**AGREED, "name": "Ours"}
    held = frozenset({"name"})
    detected = {"properties.firstname": "Theirs", "properties.company": "T"}
    same = merge(SIDES, "owner", local(ours, base=AGREED, remote=detected, held=held),
                 incoming("Theirs"))
    assert same.held == {"name"} and not same.conflicts  # nothing new: stays as listed
    newer = merge(SIDES, "owner", local(ours, base=AGREED, remote=detected, held=held),
                  incoming("Newer"))
    assert newer.conflicts == {"name": ("Ours", "Newer", "Ada")}
    agreed = merge(SIDES, "owner", local(ours, base=AGREED, remote=detected, held=held),
                   incoming("Ours"))
    assert agreed.held == set() and agreed.base["name"] == "Ours"


def test_a_record_never_agreed_conflicts_only_where_the_sides_differ() -> None:
    ours = {"name": "Ours", "team": "Ours"}
    out = merge(SIDES, "owner", Local(ours, None, None, T0), incoming("Theirs", team="T"))
    assert set(out.conflicts) == {"name"}  # team: Connectus owns it
    assert out.data["email"] == "a@x" and out.base["team"] == "T"


def test_settling_keeps_one_version() -> None:
    data, base = {**AGREED, "name": "Ours"}, AGREED
    kept_remote = settle("remote", ["name"], data, base, {"name": "Theirs"})
    assert kept_remote == ({**AGREED, "name": "Theirs"}, {**AGREED, "name": "Theirs"})
    kept_local = settle("local", ["name"], data, base, {"name": "Theirs"})
    assert kept_local == (data, {**AGREED, "name": "Theirs"})
    assert [s.local for s in pending_fields(SIDES, *kept_local)] == ["name"]
