"""The embedders: OpenAI's is asked for the columns' dimension over its documented wire
format (an in-process fake of the embeddings endpoint), and its errors land in our tree;
the local one gives unit-length vectors of that dimension with no network."""

from __future__ import annotations

import json

import httpx
import pytest

from jobs.embedding.embedders import LocalE5, OpenAIEmbedder, embedder_for
from store.errors import ConfigError, TransientError
from store.models import EMBEDDING_DIM
from store.settings import Settings


def _openai(handler: object) -> OpenAIEmbedder:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    return OpenAIEmbedder("sk-test", "https://api.openai.test/v1",
                          http_client=httpx.AsyncClient(transport=transport), max_retries=0)


async def test_openai_is_asked_for_the_columns_dimension() -> None:
    asked: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked.append({"path": request.url.path, "auth": request.headers["authorization"],
                      **body})
        data = [{"object": "embedding", "index": n, "embedding": [0.5] * EMBEDDING_DIM}
                for n in range(len(body["input"]))]
        return httpx.Response(200, json={"object": "list", "data": data,
                                         "model": body["model"],
                                         "usage": {"prompt_tokens": 3, "total_tokens": 3}})

    vectors = await _openai(handler).embed_documents(["HubSpot 429", "token expired"])
    assert len(vectors) == 2 and all(len(v) == EMBEDDING_DIM for v in vectors)
    [call] = asked
    assert call["path"] == "/v1/embeddings" and call["auth"] == "Bearer sk-test"
    assert call["dimensions"] == EMBEDDING_DIM and call["model"] == "text-embedding-3-small"
    assert call["input"] == ["HubSpot 429", "token expired"]  # text, not tiktoken ids


@pytest.mark.parametrize(("status", "error"), [(401, ConfigError), (500, TransientError)])
async def test_openai_failures_are_classified(status: int, error: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": "nope", "type": "x"}})

    with pytest.raises(error):
        await _openai(handler).embed_query("quota")


async def test_the_default_is_local_and_openai_needs_a_key() -> None:
    assert isinstance(embedder_for(Settings()), LocalE5)
    assert isinstance(embedder_for(Settings(openai_api_key="sk-x")), OpenAIEmbedder)
    vector = await LocalE5().embed_query("the zap was switched off")
    assert len(vector) == EMBEDDING_DIM
    assert abs(sum(x * x for x in vector) - 1.0) < 1e-3
