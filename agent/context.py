"""What a run of the graph needs but never stores in a thread: the services, who is
asking (tenant and user come from here, never from the model) and the model itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from tools.context import Caller, Services


@dataclass(frozen=True)
class Context:
    services: Services
    caller: Caller
    thread_key: str  # the checkpointer's thread id: tenant-prefixed, see agent/threads.py
    model: BaseChatModel
    integration_id: uuid.UUID | None = None  # the integration the question is asked about
