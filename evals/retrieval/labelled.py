"""The labelled retrieval set and recall@k over it. Standard library only, so the
candidates' own environments (evals.retrieval.candidates) can load it too."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Document:
    id: str
    kind: str  # log or insight
    text: str


@dataclass(frozen=True)
class Query:
    id: str
    query: str
    relevant: tuple[str, ...]


def documents() -> list[Document]:
    lines = (HERE / "documents.jsonl").read_text().splitlines()
    return [Document(**json.loads(line)) for line in lines if line.strip()]


def queries() -> list[Query]:
    lines = (HERE / "queries.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [Query(row["id"], row["query"], tuple(row["relevant"])) for row in rows]


def recall_at(k: int, ranked: Callable[[str], Sequence[str]]) -> float:
    """Mean over the queries of the share of each query's relevant documents found in the
    first k that ``ranked(query)`` returns (ids; distractors may be among them)."""
    shares = []
    for query in queries():
        top = set(ranked(query.query)[:k])
        shares.append(sum(1 for doc in query.relevant if doc in top) / len(query.relevant))
    return round(sum(shares) / len(shares), 3)
