"""HubSpot CRM records for the sandbox: schema, lazy generation, lookups and writes.

Generated record ``i`` of an object has id ``ID_BASE[obj] + 1 + i`` and was last
modified at ``EPOCH + i * step``; its ``createdate`` is a fixed 30 days earlier, so
id, ``createdate`` and the last-modified property are all monotone in the index.
That is what lets list paging and delta searches be index arithmetic. Records
created through the API get ids from ``ID_BASE + CREATED_OFFSET`` upwards, so the
two id ranges never collide. Archiving deletes from the dataset, whose tombstone
(time and last written values) is what ``archived=true`` reads serve.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from connectors.sandbox.hubspot.state import Box
from connectors.sandbox.kit import EPOCH, Dataset
from connectors.sandbox.kit.people import COMPANIES, person
from connectors.sandbox.kit.wire import iso

DEFAULT_COUNTS = {"contacts": 2500, "companies": 600, "deals": 900}
TYPE_ALIASES = {"0-1": "contacts", "0-2": "companies", "0-3": "deals"}
ID_BASE = {"contacts": 1_000, "companies": 2_000_000_000, "deals": 3_000_000_000}
CREATED_OFFSET = 500_000_000
CREATE_LAG_MS = 30 * 86_400_000
PORTAL_ID = 24680135

# Contacts use the legacy ``lastmodifieddate``; every other object uses ``hs_lastmodifieddate``.
DELTA_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
                  "deals": "hs_lastmodifieddate"}
DEFAULT_PROPERTIES = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                 "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    "deals": ["amount", "closedate", "createdate", "dealname", "dealstage",
              "hs_lastmodifieddate", "hs_object_id", "pipeline"],
}
KNOWN_PROPERTIES = {
    "contacts": {"email", "firstname", "lastname", "company", "phone", "jobtitle",
                 "lifecyclestage", "createdate", "lastmodifieddate", "hs_object_id"},
    "companies": {"name", "domain", "industry", "city", "numberofemployees", "createdate",
                  "hs_lastmodifieddate", "hs_object_id"},
    "deals": {"dealname", "amount", "dealstage", "pipeline", "closedate", "createdate",
              "hs_lastmodifieddate", "hs_object_id"},
}
READ_ONLY = {"createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_object_id"}
DATE_PROPERTIES = {"createdate", "lastmodifieddate", "hs_lastmodifieddate", "closedate"}
NUMBER_PROPERTIES = {"amount", "hs_object_id", "numberofemployees"}
SINGULAR = {"contacts": "CONTACT", "companies": "COMPANY", "deals": "DEAL"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_GENERATED_EMAIL_INDEX = re.compile(r"\.(\d+)@[a-z]+\.example$")
_STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
           "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"]
_LIFECYCLE = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
              "opportunity", "customer"]
_INDUSTRIES = ["COMPUTER_SOFTWARE", "RETAIL", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE",
               "MARKETING_AND_ADVERTISING", "LOGISTICS_AND_SUPPLY_CHAIN"]
_CITIES = ["Boston", "Dublin", "Berlin", "Singapore", "Sydney", "Toronto", "Bogota"]
_TITLES = ["Engineer", "CTO", "Analyst", "Founder", "Marketing Manager", "Sales Lead"]


class CrmError(Exception):
    """A HubSpot 4xx: rendered by the router with HubSpot's error body."""

    def __init__(self, status: int, message: str, category: str = "VALIDATION_ERROR",
                 *, context: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.context = context


def object_name(object_type: str) -> str:
    name = TYPE_ALIASES.get(object_type, object_type)
    if name not in DEFAULT_COUNTS:
        raise CrmError(400, f"Unable to infer object type from: {object_type}")
    return name


def valid_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def _modified_ms(index: int, step_s: int) -> int:
    return (EPOCH + index * step_s) * 1000


def make_record(obj: str, index: int, rng: random.Random, step_s: int = 60) -> dict[str, Any]:
    modified = _modified_ms(index, step_s)
    created = modified - CREATE_LAG_MS
    record_id = str(ID_BASE[obj] + 1 + index)
    props: dict[str, str | None]
    if obj == "contacts":
        who = person(rng, index)
        props = {"email": who["email"], "firstname": who["first"], "lastname": who["last"],
                 "company": who["company"],
                 "phone": None if rng.random() < 0.2 else f"+1-555-{rng.randrange(10**7):07d}",
                 "jobtitle": rng.choice(_TITLES), "lifecyclestage": rng.choice(_LIFECYCLE)}
    elif obj == "companies":
        name = f"{rng.choice(COMPANIES)} {index}"
        props = {"name": name, "domain": f"{name.lower().replace(' ', '')}.example",
                 "industry": rng.choice(_INDUSTRIES), "city": rng.choice(_CITIES),
                 "numberofemployees": str(rng.randrange(1, 5000))}
    else:
        props = {"dealname": f"{rng.choice(COMPANIES)} deal {index}",
                 "amount": str(rng.randrange(500, 250_000)), "dealstage": rng.choice(_STAGES),
                 "pipeline": "default",
                 "closedate": iso((modified + rng.randrange(90) * 86_400_000) / 1000)}
    props.update({"createdate": iso(created / 1000), DELTA_PROPERTY[obj]: iso(modified / 1000),
                  "hs_object_id": record_id})
    return {"id": record_id, "properties": props, "createdAt": iso(created / 1000),
            "updatedAt": iso(modified / 1000), "archived": False}


def render(record: dict[str, Any], obj: str, wanted: list[str] | None) -> dict[str, Any]:
    """Project a stored record onto the properties a caller asked for (HubSpot's rules)."""
    props = record["properties"]
    if wanted:
        # HubSpot always adds the three bookkeeping properties and ignores unknown names.
        names = [p for p in wanted if p in KNOWN_PROPERTIES[obj]]
        names += [p for p in ("createdate", DELTA_PROPERTY[obj], "hs_object_id") if p not in names]
    else:
        names = DEFAULT_PROPERTIES[obj]
    out = {k: v for k, v in record.items() if k != "properties"}
    out["properties"] = {name: props.get(name) for name in names}
    return out


@dataclass
class Crm:
    """Read and write access to one sandbox's CRM; all state lives on the box."""

    box: Box

    @property
    def ds(self) -> Dataset:
        return self.box.dataset(DEFAULT_COUNTS, make_record)

    def archived(self, obj: str, record_id: str) -> dict[str, Any] | None:
        """An archived record as ``archived=true`` serves it; None if it is not archived."""
        gone = self.ds.tombstone(obj, record_id)
        if gone is None:
            return None
        record = gone.last_written
        if record is None:
            index = self.index_of(obj, record_id)
            if index is None:
                return None
            record = self.generated(obj, index)
        return {**record, "archived": True, "archivedAt": iso(gone.deleted_at)}

    def count(self, obj: str) -> int:
        return self.ds.count(obj)

    def index_of(self, obj: str, record_id: str) -> int | None:
        """Generated index of an id, or None when the id is not a generated one."""
        if not record_id.isdigit():
            return None
        index = int(record_id) - ID_BASE[obj] - 1
        return index if 0 <= index < self.count(obj) else None

    def overlay(self, obj: str) -> dict[str, dict[str, Any]]:
        return self.ds.overlay.get(obj, {})

    def is_created(self, obj: str, record_id: str) -> bool:
        return int(record_id) >= ID_BASE[obj] + CREATED_OFFSET

    def generated(self, obj: str, index: int) -> dict[str, Any]:
        return make_record(obj, index, self.ds.rng(obj, index), self.ds.step_s)

    def get(self, obj: str, record_id: str) -> dict[str, Any] | None:
        if self.ds.is_deleted(obj, record_id):
            return None
        if record_id in self.overlay(obj):
            return self.overlay(obj)[record_id]
        index = self.index_of(obj, record_id)
        return None if index is None else self.generated(obj, index)

    def find(self, obj: str, value: str, id_property: str | None) -> dict[str, Any] | None:
        if not id_property or id_property == "hs_object_id":
            return self.get(obj, value)
        if id_property != "email" or obj != "contacts":
            raise CrmError(400, f"Property {id_property} is not a unique identifier property "
                                f"for {obj}", context={"idProperty": [id_property]})
        wanted = value.strip().lower()
        match = _GENERATED_EMAIL_INDEX.search(wanted)
        if match:
            record = self.get(obj, str(ID_BASE[obj] + 1 + int(match.group(1))))
            if record and str(record["properties"].get("email", "")).lower() == wanted:
                return record
        for record in self.overlay(obj).values():
            if str(record["properties"].get("email") or "").lower() == wanted:
                return record
        return None

    def created_ids(self, obj: str, from_id: int = 0) -> list[int]:
        return sorted(int(k) for k in self.overlay(obj)
                      if self.is_created(obj, k) and int(k) >= from_id)

    def list_page(self, obj: str, after: int, limit: int,
                  archived: bool) -> tuple[list[dict[str, Any]], str | None]:
        """One list page ordered by id; ``after`` is the first id to return (HubSpot's cursor)."""
        if archived:
            gone = (self.archived(obj, key) for key in self.ds.deleted(obj))
            rows = sorted((r for r in gone if r is not None), key=lambda r: int(r["id"]))
            rows = [r for r in rows if int(r["id"]) >= after][: limit + 1]
        else:
            rows = []
            index = max(0, after - ID_BASE[obj] - 1)
            while index < self.count(obj) and len(rows) <= limit:
                record = self.get(obj, str(ID_BASE[obj] + 1 + index))
                if record is not None:
                    rows.append(record)
                index += 1
            for created in self.created_ids(obj, after):
                if len(rows) > limit:
                    break
                rows.append(self.overlay(obj)[str(created)])
        next_after = rows[limit]["id"] if len(rows) > limit else None
        return rows[:limit], next_after

    def save(self, obj: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store a record in the overlay and stamp it with the write time."""
        ts = self.ds.put(obj, record["id"], record)
        stamp = iso(ts)
        record["updatedAt"] = stamp
        record["properties"][DELTA_PROPERTY[obj]] = stamp
        return record

    def touch(self, obj: str, index: int) -> None:
        """The "record changes mid-sync" fault: rewrite generated record ``index``."""
        if index >= self.count(obj):
            return
        record = self.get(obj, str(ID_BASE[obj] + 1 + index))
        if record is not None:
            copy = {**record, "properties": dict(record["properties"])}
            self.save(obj, copy)

    def create(self, obj: str, props: dict[str, str | None]) -> dict[str, Any]:
        seq = self.box.state.created
        seq[obj] = seq.get(obj, 0) + 1
        record_id = str(ID_BASE[obj] + CREATED_OFFSET + seq[obj])
        record: dict[str, Any] = {"id": record_id,
                                  "properties": {**props, "hs_object_id": record_id},
                                  "createdAt": "", "updatedAt": "", "archived": False}
        self.save(obj, record)
        record["createdAt"] = record["updatedAt"]
        record["properties"]["createdate"] = record["updatedAt"]
        return record

    def update(self, obj: str, record: dict[str, Any],
               props: dict[str, str | None]) -> dict[str, Any]:
        copy = {**record, "properties": {**record["properties"], **props}}
        return self.save(obj, copy)

    def archive(self, obj: str, record_id: str) -> bool:
        record = self.get(obj, record_id)
        if record is None:
            return False
        self.ds.delete(obj, record_id)
        return True


def clean_properties(obj: str, raw: Any) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    """Coerce written values to HubSpot's strings; report invalid ones like HubSpot does."""
    if not isinstance(raw, dict):
        return {}, [{"message": "properties must be an object", "code": "INVALID_INPUT"}]
    props: dict[str, str | None] = {}
    problems: list[dict[str, Any]] = []
    for name, value in raw.items():
        if name not in KNOWN_PROPERTIES[obj]:
            problems.append({"message": f'Property "{name}" does not exist',
                             "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": [name]}})
            continue
        if name in READ_ONLY:
            continue
        text = None if value is None else ("true" if value is True else "false"
                                           if value is False else str(value))
        if name == "email" and text is not None and not valid_email(text):
            problems.append({"message": f"Email address {text} is invalid",
                             "code": "INVALID_EMAIL", "context": {"propertyName": ["email"]}})
            continue
        props[name] = text
    return props, problems
