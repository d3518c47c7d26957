"""`connectus eval`: load the cases, bring up what they need, run them, sum them up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.model import chat_model
from evals.agent.cases import load_cases
from evals.agent.model_only import run_model_only
from tools.context import ConfigError, Settings


async def eval_command(settings: Settings, cases_path: Path, *, repeat: int = 1,
                       model_only: bool = False, split: str | None = None,
                       sandbox_port: int | None = None) -> dict[str, Any]:
    cases = load_cases(cases_path)
    if split is not None:
        cases = [c for c in cases if c.split == split]
        if not cases:
            raise ConfigError(f"--split {split}: no case of {cases_path} is in that split")
    model = chat_model(settings)
    head = {"model": getattr(model, "model_name", None) or model._llm_type,
            "cases_file": str(cases_path)}
    if model_only:
        return {**head, "mode": "model_only", **run_model_only(model, cases, repeat)}
    from evals.agent.runner import agent_ask

    ask = agent_ask()  # before anything starts: a build without the agent says so at once
    from connectors.egress import forget_own_sandbox, register_own_sandbox
    from connectors.sandbox.server import SandboxServer
    from evals.agent.demo_tenant import demo_caller
    from evals.agent.runner import run_cases
    from tools.runtime import running

    with SandboxServer(port=sandbox_port) as sandbox:
        register_own_sandbox(sandbox.url)
        try:
            async with running(settings) as services:
                caller = await demo_caller(services, sandbox.url)
                result = await run_cases(services, caller, cases, ask=ask, model=model,
                                         repeat=repeat)
        finally:
            forget_own_sandbox(sandbox.url)
    return {**head, "mode": "agent", **result}
