"""Every table, importable from one place: ``from store.models import Integration``."""

from store.models.agent import AgentConfirmation, AgentPolicy
from store.models.base import EMBEDDING_DIM, Base, TenantScoped
from store.models.chat import ChatElement, ChatStep, ChatThread
from store.models.flows import DeadLetter, SyncConflict
from store.models.integrations import (
    DataFlow,
    Integration,
    IntegrationProvider,
    SyncedRecord,
    SyncRun,
    WebhookEvent,
    WorkflowAutomation,
    WorkflowRun,
)
from store.models.knowledge import KnowledgeVector
from store.models.monitoring import (
    ApiUsage,
    ConnectusInsight,
    HealthDay,
    HealthLog,
    InsightSettings,
)
from store.models.tenancy import ApiKey, AuditLog, Role, Tenant, User
from store.models.workflows import CrmContact, WorkflowDeadLetter

__all__ = [
    "EMBEDDING_DIM", "AgentConfirmation", "AgentPolicy", "ApiKey", "ApiUsage", "AuditLog",
    "Base", "ChatElement", "ChatStep", "ChatThread", "ConnectusInsight", "CrmContact",
    "DataFlow", "DeadLetter", "HealthDay", "HealthLog", "InsightSettings", "Integration",
    "IntegrationProvider", "KnowledgeVector",
    "Role", "SyncConflict", "SyncRun", "SyncedRecord", "Tenant", "TenantScoped", "User",
    "WebhookEvent", "WorkflowAutomation", "WorkflowDeadLetter", "WorkflowRun",
]
