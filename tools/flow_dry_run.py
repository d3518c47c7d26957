"""test_mapping: a flow's mapping tried on a few records, showing each before and after.

The records are the caller's, or a sample read live through the connector (an
outbound flow's come from Connectus's own synced records). Nothing of the flow is
written: no synced records, no runs, no change to the flow. The provider calls are
counted in API usage like every other call.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from connectors.quota import Priority
from jobs.connecting import open_connector
from jobs.mapping import compile_mappings, parse_mappings
from jobs.mapping.salt import tenant_salt
from store.accounts import Caller
from store.models import Role, SyncedRecord
from store.queries import load_data_flow, load_integration
from tools.context import Services, require

MAX_SAMPLE = 50


class MappingDraft(BaseModel):
    """A mapping not saved yet, as update_data_flow takes it."""

    model_config = ConfigDict(extra="forbid")

    source_fields: list[str] = Field(default_factory=list, max_length=500)
    target_fields: list[str] = Field(default_factory=list, max_length=500)
    transformation_rules: dict[str, Any] = Field(default_factory=dict, description=(
        "target field -> list of rules"))


class TestMappingRequest(BaseModel):
    __test__ = False  # not a pytest class
    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]] | None = Field(None, max_length=MAX_SAMPLE, description=(
        "records to try the mapping on; without them a live sample is read"))
    limit: int = Field(5, ge=1, le=MAX_SAMPLE, description="how many live records to read")
    mapping: MappingDraft | None = Field(None, description=(
        "an unsaved mapping to try instead of the stored one"))


class FieldErrorPublic(BaseModel):
    field: str
    rule_index: int | None
    message: str


class MappedSample(BaseModel):
    before: dict[str, Any]
    after: dict[str, Any] | None = Field(description="None when a drop_if rule left it out")
    dropped: bool
    errors: list[FieldErrorPublic]


class TestMappingReport(BaseModel):
    __test__ = False
    data_flow: uuid.UUID
    source: Literal["given", "live", "synced"]
    records: list[MappedSample]
    mapped: int = Field(description="records mapped without an error")
    failed: int = Field(description="records with at least one field error")
    dropped: int


async def test_mapping(services: Services, caller: Caller, flow_id: uuid.UUID,
                       request: TestMappingRequest) -> TestMappingReport:
    require(caller, Role.member, "testing a mapping")
    async with services.db.session(caller.tenant_id) as session:
        flow = await load_data_flow(session, flow_id)
        integration, provider = await load_integration(session, flow.integration_id)
        draft = request.mapping
        mapper = compile_mappings(parse_mappings(
            flow.mappings, source_fields=flow.source_fields, target_fields=flow.target_fields,
            rules=flow.transformation_rules) if draft is None else parse_mappings(
            None, source_fields=draft.source_fields, target_fields=draft.target_fields,
            rules=draft.transformation_rules),
            salt=tenant_salt(services.vault, caller.tenant_id))
        source: Literal["given", "live", "synced"]
        if request.records is not None:
            records, source = request.records, "given"
        elif flow.direction == "outbound":
            records = list((await session.scalars(
                select(SyncedRecord.data).where(SyncedRecord.data_flow_id == flow.id,
                                                SyncedRecord.deleted_at.is_(None))
                .order_by(SyncedRecord.id).limit(request.limit))).all())
            source = "synced"
        else:
            records, source = None, "live"
    if records is None:
        records = await _sample(services, integration, provider, flow.stream or "",
                                request.limit)
    samples = []
    for record in records:
        out = mapper.apply(record)
        samples.append(MappedSample(
            before=record, after=out.data, dropped=out.data is None,
            errors=[FieldErrorPublic(field=e.field, rule_index=e.rule_index,
                                     message=e.message) for e in out.errors]))
    return TestMappingReport(
        data_flow=flow.id, source=source, records=samples,
        mapped=sum(1 for s in samples if not s.errors and not s.dropped),
        failed=sum(1 for s in samples if s.errors),
        dropped=sum(1 for s in samples if s.dropped))


async def _sample(services: Services, integration: Any, provider: str, stream: str,
                  limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` records of the stream: one page where the page size allows."""
    records: list[dict[str, Any]] = []
    async with open_connector(services.db, services.vault, services.queue, integration,
                              provider, priority=Priority.chat, max_wait_s=10,
                              allow_private=services.settings.allow_private_urls
                              ) as connector:
        async for page in connector.pages(stream, page_size=limit):
            records.extend(page.records[:limit - len(records)])
            if len(records) >= limit:
                break
    return records
