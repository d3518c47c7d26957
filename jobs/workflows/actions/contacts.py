"""create_contact and update_contact: into Connectus's own CRM (target ``digisol_crm``) or
into a provider's CRM through its batch write (target ``hubspot``, ``salesforce``).

The contact is read from the fetched record (HubSpot's ``properties``, Mailchimp's
``merge_fields``, Salesforce's ``Email``/``FirstName``...), else from the event; ``fields``
adds to it or overrides it, templated. In the Connectus CRM a contact is keyed by its
normalised e-mail (or ``provider:id`` when it has none), so a repeat updates the
contact instead of adding a second one.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from pydantic import Field
from sqlalchemy import update

from jobs.workflows.actions.base import (
    ActionContext,
    ActionRefused,
    ActionSpec,
    Directory,
    Params,
    always,
)
from jobs.workflows.actions.crm_writes import Upsert, upserts_for
from store.db import Database
from store.errors import ValidationFailed
from store.models import CrmContact
from store.models.base import utcnow

CRM = "digisol_crm"
ALIASES = {
    "email": ("email", "email_address", "Email", "EMAIL"),
    "first_name": ("first_name", "firstname", "firstName", "FirstName", "FNAME", "first"),
    "last_name": ("last_name", "lastname", "lastName", "LastName", "LNAME", "last"),
    "company": ("company", "Company", "COMPANY"),
    "phone": ("phone", "Phone", "PHONE", "mobilephone"),
}
LIMITS = {"email": 320, "first_name": 200, "last_name": 200, "company": 200, "phone": 50}
# provider -> (create-or-upsert write, update write, our field -> theirs)
PROVIDERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "hubspot": ("contacts.upsert", "contacts.update",
                {"email": "email", "first_name": "firstname", "last_name": "lastname",
                 "company": "company", "phone": "phone"}),
    "salesforce": ("contacts.create", "contacts.update",
                   {"email": "Email", "first_name": "FirstName", "last_name": "LastName",
                    "phone": "Phone"}),
}


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """A record's own fields with its nested property bags lifted up beside them."""
    out: dict[str, Any] = {}
    layers = [record]
    for key in ("properties", "merge_fields", "merges", "data", "fields"):
        inner = record.get(key)
        if isinstance(inner, dict):
            layers.append(inner)
            merges = inner.get("merges")
            if isinstance(merges, dict):
                layers.append(merges)
    for layer in layers:
        out.update({k: v for k, v in layer.items() if not isinstance(v, dict | list)})
    return out


def contact_of(record: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """email, first_name, last_name, company, phone and id, each None when unknown."""
    fields = flat(record or event)
    found: dict[str, Any] = {}
    for name, aliases in ALIASES.items():
        value = next((fields[a] for a in aliases if fields.get(a) not in (None, "")), None)
        found[name] = str(value).strip() if value is not None else None
    found["id"] = fields.get("id") or fields.get("Id") or event.get("objectId")
    return found


def display_name(contact: dict[str, Any]) -> str:
    name = " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)
    email = contact.get("email")
    if name and email:
        return f"{name} ({email})"
    return name or email or (f"record {contact['id']}" if contact.get("id") else "a record")


class ContactParams(Params):
    templated: ClassVar[frozenset[str]] = frozenset({"fields", "key"})

    target: str = Field(CRM, max_length=50, description=f"{CRM!r} (Connectus's own CRM) or a "
                        f"provider: {', '.join(PROVIDERS)}")
    integration: str | None = Field(None, max_length=100, description=(
        "the provider integration (id or name), for a provider target; required when the "
        "tenant has more than one"))
    fields: dict[str, Any] = Field(default_factory=dict, description=(
        "fields to set, over those read from the record (email, first_name, last_name, "
        "company, phone, or any other); templated"))
    key: str | None = Field(None, max_length=320, description=(
        f"{CRM} only: what identifies the contact; default its e-mail, else provider:id"))


def resolve(params: dict[str, Any], directory: Directory, field: str) -> dict[str, Any]:
    target = params.get("target", CRM)
    if target == CRM:
        if params.get("integration"):
            raise ValidationFailed(f"{CRM} is Connectus's own CRM: it takes no integration",
                                   field=f"{field}.integration")
        return {}
    if target not in PROVIDERS:
        raise ValidationFailed(f"unknown target {target!r}; use {CRM!r} or a provider: "
                               f"{', '.join(PROVIDERS)}", field=f"{field}.target")
    chosen = directory.pick(target, params.get("integration"), f"{field}.integration")
    return {"integration": str(chosen.id)}


def _contact(ctx: ActionContext, params: ContactParams) -> dict[str, Any]:
    contact = contact_of(ctx.record, ctx.event)
    extra = {k: v for k, v in params.fields.items() if k not in ALIASES}
    for name in ALIASES:
        if params.fields.get(name) not in (None, ""):
            contact[name] = str(params.fields[name]).strip()
    contact["extra"] = extra
    return contact


def _key(ctx: ActionContext, params: ContactParams, contact: dict[str, Any]) -> str:
    if params.key:
        return params.key.strip().lower()[:320]
    if contact.get("email") and "@" in contact["email"]:
        return contact["email"].lower()
    if contact.get("id"):
        return f"{ctx.trigger_integration.provider}:{contact['id']}"
    raise ActionRefused(f"{ctx.field}: the contact has neither an e-mail nor an id to key it "
                        "by; give key or fields.email")


def _row(ctx: ActionContext, contact: dict[str, Any]) -> dict[str, Any]:
    values = {name: (contact[name] or None) and contact[name][:LIMITS[name]]
              for name in ALIASES}
    data = {k: v for k, v in {**contact, **contact["extra"]}.items()
            if k != "extra" and v is not None}
    return {**values, "data": data,
            "source": f"{ctx.trigger_integration.provider}:{contact['id']}"[:200]
            if contact.get("id") else None}


async def create_contact(ctx: ActionContext, params: ContactParams) -> dict[str, Any]:
    contact = _contact(ctx, params)
    if params.target != CRM:
        return await _provider_write(ctx, params, contact, update=False)
    key, row = _key(ctx, params, contact), _row(ctx, contact)
    found = await upserts_for(ctx.services["db"]).submit(Upsert(ctx.tenant_id, key, row))
    return {"target": CRM, "contact_id": str(found.contact_id), "key": key,
            "created": found.created, "email": row["email"],
            "name": display_name(contact)}


async def update_contact(ctx: ActionContext, params: ContactParams) -> dict[str, Any]:
    contact = _contact(ctx, params)
    if params.target != CRM:
        return await _provider_write(ctx, params, contact, update=True)
    key, row = _key(ctx, params, contact), _row(ctx, contact)
    db: Database = ctx.services["db"]
    changes = {name: row[name] for name in ALIASES if row[name]}
    async with db.transaction(ctx.tenant_id) as session:
        found = (await session.execute(
            update(CrmContact).where(CrmContact.key == key)
            .values(**changes, data=CrmContact.data.op("||")(row["data"]),
                    updated_at=utcnow())
            .returning(CrmContact.id).execution_options(synchronize_session=False))).first()
    if found is None:
        raise ActionRefused(f"{ctx.field}: no contact {key!r} in the Connectus CRM to update "
                            "(create_contact adds or updates)")
    return {"target": CRM, "contact_id": str(found.id), "key": key, "created": False,
            "email": row["email"], "name": display_name(contact)}


async def _provider_write(ctx: ActionContext, params: ContactParams, contact: dict[str, Any],
                          *, update: bool) -> dict[str, Any]:
    create_write, update_write, names = PROVIDERS[params.target]
    if params.integration is None:
        raise ValidationFailed("is required for a provider target",
                               field=f"{ctx.field}.integration")
    connector, ref = await ctx.connector(uuid.UUID(params.integration))
    record = {names[k]: contact[k] for k in names if contact.get(k)}
    record.update(contact["extra"])
    if update:
        record.setdefault("id", params.fields.get("id") or (
            contact.get("id") if ref.provider == ctx.trigger_integration.provider else None))
        if not record.get("id"):
            raise ActionRefused(f"{ctx.field}: updating a {ref.provider} contact needs its id "
                                "(fields.id)")
    result = await connector.write(update_write if update else create_write, [record])
    if result.failed or not result.ok:
        said = "; ".join(str(e.get("message", "")) for e in result.errors) or "no reason given"
        raise ActionRefused(f"{ctx.field}: {ref.provider} refused the contact: {said}")
    return {"target": params.target, "integration": str(ref.id), "ids": result.ids,
            "email": contact.get("email"), "name": display_name(contact)}


def _upserts(action: dict[str, Any]) -> bool:
    """Keyed in the Connectus CRM and HubSpot (upsert by e-mail); Salesforce's is a create."""
    target = action.get("target") or CRM
    return target == CRM or (target in PROVIDERS and PROVIDERS[target][0].endswith(".upsert"))


CREATE = ActionSpec("create_contact", "Add a contact, or update it if it is already there, in "
                    "the Connectus CRM or a provider's CRM", ContactParams, create_contact,
                    resolve, repeatable=_upserts)
UPDATE = ActionSpec("update_contact", "Update an existing contact in the Connectus CRM or a "
                    "provider's CRM", ContactParams, update_contact, resolve, repeatable=always)
