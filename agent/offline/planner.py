"""From a conversation to one decision: call a tool (which, with what), or say why not.

Only people's messages and the model's own earlier calls are read here; tool results
never are, so text inside third-party data cannot become a call."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.offline.arguments import SUBJECTS, Reader, assumed
from agent.offline.entities import Entities, read_entities
from agent.offline.intents import WRITES, Scored, score_intents
from agent.offline.schema import ToolSpec, fit
from agent.offline.text import Text
from agent.offline.timewindow import window_start

_FOLLOW_UP = re.compile(r"^\s*(and|also|what about|how about|same (for|with)|now|ok(ay)?,? "
                        r"(and|now|what about)|then|plus|for|or)\b|"
                        r"\b(do|try|run|same) (the |that )?(same|again)( thing)? (for|with|on)\b|"
                        r"\b(for|with|on) \w+( \w+)? (too|as well)\b")
_PRONOUN = re.compile(r"\b(it|that|this|them|this one|that one|the same)\b")
_QUESTION = re.compile(r"^\s*(what|which|who|when|where|how|why|is|are|was|were|did|do|does|"
                       r"has|have|show|list|tell|give)\b")
_REQUEST = re.compile(r"^\s*(please|can you|could you|would you|go ahead|i want|i'd like|"
                      r"let's|lets)\b")
_MIN_SCORE = 1.0
_EXISTING_FLOW = re.compile(r"\b(the|my|our|this|that)\s+(\S+\s+){0,4}(data )?(flow|pipeline)\b")
_NEW_FLOW = re.compile(r"\b(a|an|new|another)\s+(\S+\s+){0,4}(flow|pipeline)\b")


@dataclass(frozen=True)
class Turn:
    """An earlier question and the call the model made for it (if any)."""

    question: str
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    tool: str | None
    args: dict[str, Any]
    reason: str = ""  # why no tool, said to the person; with a tool, what was assumed


def decide(question: str, history: list[Turn], specs: dict[str, ToolSpec],
           now: datetime | None = None, context: dict[str, str] | None = None) -> Decision:
    """``context`` holds subjects the door already knows (the integration a person is
    looking at); they fill a call's subject when the message and thread name none."""
    text = Text.of(question)
    found = read_entities(text)
    ranked = _weigh(text, [s for s in score_intents(text.lower) if s.tool in specs])
    previous = next((t for t in reversed(history) if t.tool), None)
    if previous and previous.tool in specs and _is_follow_up(text, ranked):
        return _follow_up(text, found, previous, specs[previous.tool], now)
    if (not ranked or ranked[0][1] < _MIN_SCORE) and _only_a_subject(text, found) and \
            "get_integration" in specs:
        ranked = [("get_integration", _MIN_SCORE)]  # "show hubspot", "hubspot?"
    if (not ranked or ranked[0][1] < _MIN_SCORE) and found.bare and \
            re.match(r"\s*(please )?(run|execute|trigger|fire|start)\b", text.lower) and \
            "execute_workflow" in specs:
        ranked = [("execute_workflow", _MIN_SCORE)]  # "run Lead router now": runs a workflow
    if not ranked or ranked[0][1] < _MIN_SCORE:
        return Decision(None, {}, _cannot(text, specs))
    tool = _refine(ranked[0][0], text, found, specs)
    spec = specs[tool]
    args = Reader(text, found, spec, now).args()
    if previous and _PRONOUN.search(text.lower):
        args = {**_subjects_of(previous.args, spec), **args}
    if context and not any(name in args for name in SUBJECTS):
        args = {**{k: v for k, v in context.items() if spec.accepts(k)}, **args}
    args = fit(spec, args)
    defaults = fit(spec, assumed(spec, args))
    args = {**args, **defaults}
    missing = [name for name in spec.required if name not in args]
    if missing:
        return Decision(None, {}, _ask_for(tool, missing))
    note = "" if not defaults else "I assumed " + "; ".join(
        f"{k.replace('_', ' ')} {', '.join(v) if isinstance(v, list) else v}"
        for k, v in defaults.items()) + ": change them before you confirm if they are wrong."
    return Decision(tool, args, note)


def _only_a_subject(text: Text, found: Entities) -> bool:
    named = len(found.providers) == 1 or "integration" in found.names
    return named and len(text.words) <= 4


def _weigh(text: Text, ranked: list[Scored]) -> list[tuple[str, float]]:
    """Questions lean to reads, requests to writes; a bulk destructive write is refused."""
    asking = bool(_QUESTION.search(text.lower)) and not _REQUEST.search(text.lower)
    weighed = []
    for scored in ranked:
        score = scored.score
        if scored.tool in WRITES and asking:
            score *= 0.55
        weighed.append((scored.tool, score))
    weighed.sort(key=lambda pair: -pair[1])
    return weighed


def _refine(tool: str, text: Text, found: Entities, specs: dict[str, ToolSpec]) -> str:
    """The same verb on a different object is a different tool."""
    named_flow = found.names.get("data_flow", "").lower()
    providers = {m.provider.display.lower() for m in found.providers}
    about_flow = text.has("flow", "flows", "pipeline") or (
        bool(named_flow) and named_flow not in providers)
    if tool == "update_integration" and about_flow and "update_data_flow" in specs:
        return "update_data_flow"
    if tool == "create_data_flow" and _EXISTING_FLOW.search(text.lower) and \
            not _NEW_FLOW.search(text.lower) and "update_data_flow" in specs:
        return "update_data_flow"  # "make the HubSpot contacts flow hourly" changes one
    if tool == "health_summary" and found.provider and "get_integration" in specs and \
            not specs[tool].accepts("integration") and not text.has("all", "every", "overall"):
        return "get_integration"
    if tool == "get_integration" and not (found.provider or found.names.get("integration")
                                          or found.quoted or found.ids):
        if "health_summary" in specs:
            return "health_summary"
        return "list_integrations" if "list_integrations" in specs else tool
    if tool == "list_integrations" and found.provider and "get_integration" in specs and \
            not text.has("all", "which", "list", "every"):
        return "get_integration"
    if tool in {"get_provider", "create_integration"} and not found.providers and \
            "list_providers" in specs and tool == "get_provider":
        return "list_providers"
    if tool == "list_workflows" and found.names.get("workflow") and text.has(
            "run", "runs", "ran", "history") and "workflow_runs" in specs:
        return "workflow_runs"
    return tool


def _is_follow_up(text: Text, ranked: list[tuple[str, float]]) -> bool:
    if _FOLLOW_UP.search(text.lower) and len(text.words) <= 8:
        strongest = ranked[0][1] if ranked else 0.0
        return strongest < 2.5
    return not ranked and len(text.words) <= 4


def _follow_up(text: Text, found: Entities, previous: Turn, spec: ToolSpec,
               now: datetime | None) -> Decision:
    """ "and Salesforce?": the last call again, with what this message changes."""
    fresh = Reader(text, found, spec, now).args()
    kept = dict(previous.args)
    if any(name in fresh for name in SUBJECTS):
        kept = {k: v for k, v in kept.items() if k not in SUBJECTS}
    if not any(name in fresh for name in SUBJECTS) and not found.severity and \
            not found.frequency and "since" not in fresh:
        if window_start(text.lower) is not None:
            return Decision(None, {}, f"{spec.name.replace('_', ' ').capitalize()} has no time "
                            "window to narrow; ask it again without one, or ask for the "
                            "health logs of that time.")
        return Decision(None, {}, "I'm not sure what you mean; could you say it in full?")
    informative = {k: v for k, v in fresh.items()
                   if k in SUBJECTS or k == "since" or (k == "severity" and found.severity)
                   or (k == "sync_frequency" and found.frequency)}
    return Decision(spec.name, fit(spec, {**kept, **informative}))


def _subjects_of(args: dict[str, Any], spec: ToolSpec) -> dict[str, Any]:
    subject = {k: v for k, v in args.items() if k in SUBJECTS and spec.accepts(k)}
    if not subject and "integration" in args:
        for name in ("data_flow", "workflow"):
            if spec.accepts(name):
                return {name: args["integration"]}
    if not subject and spec.accepts("integration"):
        for name in ("data_flow", "workflow"):
            if name in args:
                return {"integration": args[name]}
    return subject


def _ask_for(tool: str, missing: list[str]) -> str:
    wanted = ", ".join(m.replace("_", " ") for m in missing)
    return (f"To {tool.replace('_', ' ')} I need to know the {wanted}; "
            "which one do you mean?")


def _cannot(text: Text, specs: dict[str, ToolSpec]) -> str:
    can = ", ".join(sorted(name.replace("_", " ") for name in specs)[:12])
    return ("I can't do that: it is not something my tools cover, and I would rather say "
            f"so than guess. I can help with: {can}.")
