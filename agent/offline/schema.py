"""The bound tools as the model sees them: names, argument names, types and enums.

The model only ever calls a bound tool, with arguments its JSON schema allows: unknown
arguments are dropped and a value outside an enum is dropped too, never sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    properties: dict[str, dict[str, Any]]
    required: tuple[str, ...]

    def accepts(self, argument: str) -> bool:
        return argument in self.properties

    def enum(self, argument: str) -> tuple[Any, ...]:
        return _enum_of(self.properties.get(argument, {}))

    def kind(self, argument: str) -> str:
        return _type_of(self.properties.get(argument, {}))


def spec_of(tool: dict[str, Any]) -> ToolSpec:
    """An OpenAI-format tool (what ``convert_to_openai_tool`` makes) as a ToolSpec."""
    function = tool.get("function", tool)
    parameters = function.get("parameters") or {}
    definitions = parameters.get("$defs") or parameters.get("definitions") or {}
    properties = {name: _inline(schema, definitions)
                  for name, schema in (parameters.get("properties") or {}).items()}
    return ToolSpec(name=function["name"], description=function.get("description") or "",
                    properties=properties, required=tuple(parameters.get("required") or ()))


def fit(spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    """Only the arguments the schema allows, with values its enums and types allow."""
    fitted: dict[str, Any] = {}
    for name, value in args.items():
        if value is None or not spec.accepts(name):
            continue
        allowed = spec.enum(name)
        if allowed and value not in allowed:
            continue
        kind = spec.kind(name)
        if kind == "array" and not isinstance(value, list):
            value = [value]
        elif kind == "string" and not isinstance(value, str):
            continue
        elif kind == "object" and not isinstance(value, dict):
            continue
        elif kind == "integer" and not isinstance(value, int):
            continue
        fitted[name] = value
    return fitted


def _inline(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return {**definitions.get(ref.rsplit("/", 1)[-1], {}),
                **{k: v for k, v in schema.items() if k != "$ref"}}
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list):  # Optional[X] is anyOf [X, null]: keep X
            real = [_inline(o, definitions) for o in options if o.get("type") != "null"]
            if len(real) == 1:
                return {**real[0], **{k: v for k, v in schema.items() if k != key}}
            enums = [v for o in real for v in _enum_of(o)]
            merged = {k: v for k, v in schema.items() if k != key}
            if enums and len(enums) == sum(len(_enum_of(o)) for o in real):
                merged["enum"] = enums
            merged.setdefault("type", _type_of(real[0]) if real else "string")
            return merged
    return schema


def _enum_of(schema: dict[str, Any]) -> tuple[Any, ...]:
    if "enum" in schema:
        return tuple(schema["enum"])
    if "const" in schema:
        return (schema["const"],)
    items = schema.get("items")
    if isinstance(items, dict) and "enum" in items and schema.get("type") != "array":
        return tuple(items["enum"])
    return ()


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind is None and ("enum" in schema or "const" in schema):
        kind = "string"
    return str(kind or "any")
