"""Is an answer grounded: does every figure in it come from the database?

The tools read the database and the model sees nothing else, so an answer is grounded
when each number it states appears among the numbers the tools returned in that turn
(or in the question itself: "the past 3 days"), or counts the rows a tool returned
("7 integrations" when the list has seven). Numbers compare as values (``7`` and
``7.0`` are one figure); a figure found nowhere is invented, and the answer is not
grounded. An answer that states no figure has nothing to check and is left out of the
share (``grounded_answers`` is how many were checked)."""

from __future__ import annotations

import json
import re
from typing import Any

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def figures(text: str) -> set[float]:
    return {float(n) for n in _NUMBER.findall(text)}


def source_figures(question: str, results: list[Any]) -> set[float]:
    found = figures(question)
    for result in results:
        text = result if isinstance(result, str) else json.dumps(result, default=str)
        found |= figures(text)
        found |= {float(n) for n in re.findall(r"\d+(?:\.\d+)?", text)}  # inside ids, dates
        found |= _counts(result)
    return found


def _counts(value: Any) -> set[float]:
    if isinstance(value, list):
        return {float(len(value))}.union(*(_counts(v) for v in value))
    if isinstance(value, dict):
        return set().union(*(_counts(v) for v in value.values()))
    return set()


def ungrounded(answer: str, question: str, results: list[Any]) -> set[float]:
    """The figures of an answer that no tool result and not the question holds."""
    return figures(answer) - source_figures(question, results)


def ungrounded_figures(answer: str, question: str, results: list[Any]) -> list[str]:
    """The invented figures as the answer wrote them, in order, once each, for a reader."""
    known = source_figures(question, results)
    written = dict.fromkeys(n for n in _NUMBER.findall(answer) if float(n) not in known)
    return list(written)
