"""Salesforce simulator data: the object catalog, 18-character Ids, generated records,
write validation and the Outbound Message SOAP envelope.

Kept apart from the router so ``salesforce.py`` stays about HTTP; everything here
is pure (no box, no request).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from connectors.sandbox.kit import EPOCH
from connectors.sandbox.kit.people import person

DEMO_TOKEN = "sandbox"  # fixed session id scripts may use, like a pasted access token
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_GENERATED, _CREATED = "5g", "5h"  # pod marker: generated records vs records written via the API


@dataclass(frozen=True)
class FieldSpec:
    type: str
    createable: bool = True
    required: bool = False
    external_id: bool = False


_READ_ONLY = FieldSpec("datetime", createable=False)
_COMMON: dict[str, FieldSpec] = {
    "Id": FieldSpec("id", createable=False),
    "IsDeleted": FieldSpec("boolean", createable=False),
    "CreatedDate": _READ_ONLY,
    "LastModifiedDate": _READ_ONLY,
    "SystemModstamp": _READ_ONLY,
    "OwnerId": FieldSpec("reference"),
    "Description": FieldSpec("textarea"),
    "External_Id__c": FieldSpec("string", external_id=True),
}
_S = FieldSpec("string")
CATALOG: dict[str, dict[str, FieldSpec]] = {
    "Account": {**_COMMON, "Name": FieldSpec("string", required=True), "Industry": _S,
                "Phone": FieldSpec("phone"), "Website": FieldSpec("url"), "BillingCity": _S,
                "BillingCountry": _S, "NumberOfEmployees": FieldSpec("int"),
                "AnnualRevenue": FieldSpec("currency")},
    "Contact": {**_COMMON, "FirstName": _S, "LastName": FieldSpec("string", required=True),
                "Name": FieldSpec("string", createable=False), "Email": FieldSpec("email"),
                "Phone": FieldSpec("phone"), "Title": _S, "AccountId": FieldSpec("reference"),
                "LeadSource": _S},
    "Lead": {**_COMMON, "FirstName": _S, "LastName": FieldSpec("string", required=True),
             "Name": FieldSpec("string", createable=False),
             "Company": FieldSpec("string", required=True), "Email": FieldSpec("email"),
             "Status": _S, "LeadSource": _S, "Phone": FieldSpec("phone")},
    "Opportunity": {**_COMMON, "Name": FieldSpec("string", required=True),
                    "StageName": FieldSpec("string", required=True),
                    "CloseDate": FieldSpec("date", required=True),
                    "Amount": FieldSpec("currency"), "Probability": FieldSpec("percent"),
                    "AccountId": FieldSpec("reference"), "LeadSource": _S},
}
KEY_PREFIX = {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006"}
DEFAULT_COUNTS = {"Account": 800, "Contact": 3000, "Lead": 1200, "Opportunity": 900}
EXTERNAL_ID = "External_Id__c"

_INDUSTRIES = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education"]
_CITIES = [("San Francisco", "USA"), ("London", "UK"), ("Berlin", "Germany"),
           ("Toronto", "Canada"), ("Sydney", "Australia"), ("Paris", "France")]
_STAGES = [("Prospecting", 10), ("Qualification", 20), ("Proposal/Price Quote", 75),
           ("Negotiation/Review", 90), ("Closed Won", 100), ("Closed Lost", 0)]
_LEAD_STATUS = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                "Closed - Not Converted"]
_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
_TITLES = ["CTO", "VP Engineering", "Head of Marketing", "Buyer", "Office Manager", "CFO"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def id18(id15: str) -> str:
    """Salesforce's case-safe Id: three checksum characters encode which letters are uppercase."""
    out = ""
    for chunk in range(3):
        flags = sum(1 << j for j, c in enumerate(id15[chunk * 5: chunk * 5 + 5]) if "A" <= c <= "Z")
        out += _SUFFIX[flags]
    return id15 + out


def _b62(n: int, width: int) -> str:
    digits = ""
    while n:
        n, rem = divmod(n, 62)
        digits = _BASE62[rem] + digits
    return digits.rjust(width, "0")


def make_id(prefix: str, n: int, *, created: bool = False) -> str:
    return id18(prefix + (_CREATED if created else _GENERATED) + _b62(n, 10))


ORG_ID = id18("00D000000000001")
USER_ID = id18("005000000000001")


def record_id(sobject: str, index: int) -> str:
    return make_id(KEY_PREFIX[sobject], index)


def normalize_id(raw: str) -> str | None:
    """An 18-character Id for a 15- or 18-character one, None if it cannot be an Id."""
    if not re.fullmatch(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?", raw):
        return None
    full = id18(raw[:15])
    return full if len(raw) == 15 or raw[15:].upper() == full[15:] else None


def sobject_of(rid: str) -> str | None:
    return next((name for name, prefix in KEY_PREFIX.items() if rid.startswith(prefix)), None)


def generated_index(rid: str) -> int | None:
    """The generated index an Id encodes, None for written records and foreign Ids."""
    if rid[3:5] != _GENERATED:
        return None
    n = 0
    for c in rid[5:15]:
        n = n * 62 + _BASE62.index(c)
    return n


def external_id_index(sobject: str, value: str) -> int | None:
    match = re.fullmatch(rf"EXT-{KEY_PREFIX[sobject]}-(\d{{8}})", value)
    return int(match.group(1)) if match else None


def sf_datetime(ts: float) -> str:
    """``2024-05-20T20:49:32.000+0000``: the REST API's dateTime rendering."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def generate(sobject: str, index: int, rng: random.Random, *, accounts: int) -> dict[str, Any]:
    """One generated record; modification stamps are added when it is rendered."""
    who = person(rng, index)
    rec: dict[str, Any] = {
        "Id": record_id(sobject, index), "IsDeleted": False, "OwnerId": USER_ID,
        "CreatedDate": sf_datetime(EPOCH - rng.randint(1, 400) * 86_400),
        "Description": None,
        EXTERNAL_ID: f"EXT-{KEY_PREFIX[sobject]}-{index:08d}",
    }
    account_id = record_id("Account", rng.randrange(accounts)) if accounts else None
    phone = f"+1 415 555 {rng.randrange(10_000):04d}"
    if sobject == "Account":
        city, country = rng.choice(_CITIES)
        rec.update(Name=f"{who['company']} {index}", Industry=rng.choice(_INDUSTRIES),
                   Phone=phone, Website=f"https://{who['company'].lower()}{index}.example",
                   BillingCity=city, BillingCountry=country,
                   NumberOfEmployees=rng.randint(5, 50_000),
                   AnnualRevenue=float(rng.randint(1, 900) * 100_000))
    elif sobject in ("Contact", "Lead"):
        rec.update(FirstName=who["first"], LastName=who["last"],
                   Name=f"{who['first']} {who['last']}", Email=who["email"], Phone=phone,
                   LeadSource=rng.choice(_SOURCES))
        if sobject == "Contact":
            rec.update(Title=rng.choice(_TITLES), AccountId=account_id)
        else:
            rec.update(Company=who["company"], Status=rng.choice(_LEAD_STATUS))
    else:
        stage, probability = rng.choice(_STAGES)
        rec.update(Name=f"{who['company']} deal {index}", StageName=stage,
                   CloseDate=f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                   Amount=float(rng.randint(1, 500) * 1_000), Probability=float(probability),
                   AccountId=account_id, LeadSource=rng.choice(_SOURCES))
    return rec


def render(sobject: str, rec: dict[str, Any], modified: float, version: str,
           fields: list[str] | None = None) -> dict[str, Any]:
    """Wire shape: ``attributes`` first, then the selected fields in the order asked."""
    stamp = sf_datetime(modified)
    full = {**rec, "LastModifiedDate": stamp, "SystemModstamp": stamp}
    out: dict[str, Any] = {"attributes": {
        "type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{rec['Id']}"}}
    for name in fields or list(CATALOG[sobject]):
        out[name] = full.get(name)
    return out


def describe(sobject: str) -> dict[str, Any]:
    """The part of ``/sobjects/{obj}/describe`` a connector uses to plan a sync."""
    fields = [{"name": name, "type": spec.type, "createable": spec.createable,
               "updateable": spec.createable, "nillable": not spec.required,
               "externalId": spec.external_id} for name, spec in CATALOG[sobject].items()]
    return {"name": sobject, "label": sobject, "keyPrefix": KEY_PREFIX[sobject],
            "createable": True, "updateable": True, "queryable": True, "fields": fields}


def no_such_column(name: str, sobject: str) -> str:
    return (f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
            "custom field, be sure to append the '__c' after the custom field name. Please "
            "reference your WSDL or the describe call for the appropriate names.")


def canonical_field(sobject: str, name: str) -> str | None:
    return next((f for f in CATALOG[sobject] if f.lower() == name.lower()), None)


def field_errors(sobject: str, body: dict[str, Any], *, creating: bool) -> list[dict[str, Any]]:
    """Per-record errors as ``{statusCode, message, fields}`` (collections' key naming)."""
    errors: list[dict[str, Any]] = []
    catalog = CATALOG[sobject]
    for name in body:
        if name == "attributes" or (name.lower() == "id" and not creating):
            continue
        canonical = canonical_field(sobject, name)
        if canonical is None:
            errors.append(_error("INVALID_FIELD",
                                 f"No such column '{name}' on sobject of type {sobject}", []))
        elif not catalog[canonical].createable:
            errors.append(_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {canonical}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                [canonical]))
    if errors:
        return errors
    values = {canonical_field(sobject, k): v for k, v in body.items() if k != "attributes"}
    # An insert must carry every required field; an update may only not blank one out.
    checked = catalog if creating else [name for name in values if name]
    missing = [name for name in checked
               if name and catalog[name].required and values.get(name) in (None, "")]
    if missing:
        errors.append(_error("REQUIRED_FIELD_MISSING",
                             f"Required fields are missing: [{', '.join(missing)}]", missing))
    email = values.get("Email")
    if isinstance(email, str) and email and not _EMAIL.match(email):
        errors.append(_error("INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {email}",
                             ["Email"]))
    return errors


def _error(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields}


def apply_fields(sobject: str, base: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``body`` merged in under canonical names; compound Name recomputed."""
    rec = dict(base)
    for key, value in body.items():
        canonical = canonical_field(sobject, key)
        if canonical and canonical != "Id" and key != "attributes":
            rec[canonical] = value
    if sobject in ("Contact", "Lead"):
        rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)
    return rec


def _xml_value(name: str, value: Any) -> str:
    if value is None:
        return f'<sf:{name} xsi:nil="true"/>'
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return f"<sf:{name}>{escape(text)}</sf:{name}>"


Notification = tuple[str, str, dict[str, Any]]


def outbound_message(org_id: str, action_id: str, notifications: list[Notification],
                     *, enterprise_url: str, partner_url: str,
                     session_id: str | None = None) -> bytes:
    """The SOAP envelope of a Salesforce Outbound Message (``notifications`` call).

    ``notifications`` holds ``(notification_id, sobject_type, fields)``; field order
    is kept, ``Id`` first when present, as the WSDL lists it first.
    """
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
        "<soapenv:Body>",
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">',
        f"<OrganizationId>{escape(org_id)}</OrganizationId>",
        f"<ActionId>{escape(action_id)}</ActionId>",
        f"<SessionId>{escape(session_id)}</SessionId>" if session_id
        else '<SessionId xsi:nil="true"/>',
        f"<EnterpriseUrl>{escape(enterprise_url)}</EnterpriseUrl>",
        f"<PartnerUrl>{escape(partner_url)}</PartnerUrl>",
    ]
    for notification_id, sobject, fields in notifications:
        ordered = sorted(fields.items(), key=lambda kv: kv[0] != "Id")
        parts.append(f"<Notification><Id>{escape(notification_id)}</Id>"
                     f'<sObject xsi:type="sf:{escape(sobject)}" '
                     'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
                     + "".join(_xml_value(k, v) for k, v in ordered)
                     + "</sObject></Notification>")
    parts += ["</notifications>", "</soapenv:Body>", "</soapenv:Envelope>"]
    return "\n".join(parts).encode()
