"""``connectus bench retrieval``: the fused search (HNSW + full text) over N stored health
logs of one tenant, against an exact nearest-neighbour scan in the same run.

What it brings up: the embedded PostgreSQL in ``CONNECTUS_DATA_DIR`` (or the server
``DATABASE_URL`` names), migrated. It makes a tenant of its own (``bench-...``), stores N
generated logs (evals.retrieval.generate: deterministic, repeating ``rows // 50`` distinct
lines as a real log repeats itself), each line embedded once by the default embedder in
bulk (the vectors are kept in the data dir, so a second run skips that), and removes the
tenant at the end unless ``keep``. With ``blended`` every log is a text of its own with a
vector of its own (its line's, moved part of the way toward another line's), so the graph
holds N vectors: the harder case of a log whose lines rarely repeat.

The queries are the labelled set's paraphrases (evals/retrieval/queries.jsonl), embedded
once before timing: ``p50_ms``/``p99_ms`` time ``fused_search`` in a transaction of its
own, as ``search_knowledge`` runs it, without the query's embedding (reported apart as
``embed_query_p50_ms``). ``recall_vs_exact`` compares the HNSW ranking's top ``K`` distinct
texts with the exact scan's (what a person sees: a line repeated fifty times is one hit),
counting a text as found when its distance is within the exact K-th distance (two texts
can embed alike; ANN-benchmarks counts the same way).
"""

from __future__ import annotations

import re
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, text

from evals.retrieval.generate import logs
from evals.retrieval.labelled import queries
from jobs.embedding.embedders import Embedder, embedder_for
from store.accounts import Caller, create_tenant, create_user
from store.models import HealthLog, Role, Tenant
from tools.context import Services, Settings
from tools.knowledge import CANDIDATES, EF_SEARCH, fused_search, vector_ranked
from tools.runtime import running

K = 10  # recall_vs_exact compares this many nearest distinct texts
ROUNDS = 3  # every query this many times, after one untimed warm-up round
INSERT_BATCH = 1000
EMBED_BATCH = 256
DISTINCT_SHARE = 50  # one distinct line per this many logs
BLEND_SEED = 11
# the rows are stored with their vectors, as the embedding cron leaves them; their
# distinct texts' vectors are what the search ranks (store.models.knowledge)
KNOWN_VECTORS = """
    INSERT INTO knowledge_vectors (id, tenant_id, kind, text_hash, embedding, created_at)
    SELECT DISTINCT ON (text_hash) gen_random_uuid(), tenant_id, 'log', text_hash,
           embedding, now()
    FROM health_logs WHERE tenant_id = :tenant AND embedding IS NOT NULL
    ON CONFLICT DO NOTHING"""
NOTE = ("fused = HNSW (m=16, ef_construction=64, ef_search={ef}) top {c} + full-text top {c} "
        "distinct texts per kind, reciprocal-rank fused, one transaction per search as "
        "search_knowledge runs it; query embeddings made before timing (embed_query_p50_ms "
        "apart); exact = the same ranking with index scans off; recall_vs_exact: the HNSW "
        "top {k} distinct texts against the exact top {k}, ties by distance count as found; "
        "the graph holds one vector per distinct text (vectors_in_graph of them: the "
        "distinct lines, or with blended every row, its line's vector moved up to half way "
        "toward another line's)")


def distinct_lines(rows: int) -> int:
    """How many distinct lines N logs repeat: a real log repeats itself, and each distinct
    line costs an embedding (tens a second on a busy CPU)."""
    return min(rows, max(20, rows // DISTINCT_SHARE))


async def _tenant(services: Services) -> Caller:
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    async with services.db.transaction(None) as session:
        tenant = await create_tenant(session, "Retrieval benchmark", slug)
        user = await create_user(session, tenant.id, f"owner@{slug}.example", Role.owner)
    return Caller(tenant_id=tenant.id, user_id=user.id, role=Role.owner, email=user.email)


def _cached(cache: Path) -> dict[str, np.ndarray]:
    if not cache.exists():
        return {}
    kept = np.load(cache, allow_pickle=False)
    return dict(zip(kept["lines"].tolist(), kept["vectors"], strict=True))


def _save(cache: Path, vectors: dict[str, np.ndarray]) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".partial.npz")
    np.savez(partial, lines=np.asarray(list(vectors)), vectors=np.stack(list(vectors.values())))
    partial.replace(cache)


async def _vectors(embedder: Embedder, lines: list[str], cache: Path) -> np.ndarray:
    """One unit vector per distinct line. Lines embedded by an earlier run (of any N) come
    from the cache file, which is saved as the embedding goes, so a stopped run loses little."""
    known = _cached(cache)
    missing = [line for line in lines if line not in known]
    for start in range(0, len(missing), EMBED_BATCH):
        chunk = missing[start:start + EMBED_BATCH]
        matrix = np.asarray(await embedder.embed_documents(chunk), dtype=np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        known.update(zip(chunk, matrix, strict=True))
        _save(cache, known)
    return np.stack([known[line] for line in lines]).astype(np.float32)


def _blend(matrix: np.ndarray, picks: list[int]) -> np.ndarray:
    """One vector per row, each its own: its line's embedding moved part of the way (up to
    half) toward another line's, so N rows fill the space between real embeddings rather
    than repeating them (and not as near-copies of them, which no graph can rank)."""
    rng = np.random.default_rng(BLEND_SEED)
    other = rng.integers(0, matrix.shape[0], size=len(picks))
    share = rng.uniform(0.0, 0.5, size=(len(picks), 1)).astype(np.float32)
    rows = (1 - share) * matrix[picks] + share * matrix[other]
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


async def _store(services: Services, caller: Caller, rows: int, embedder: Embedder,
                 data_dir: Path, blended: bool) -> tuple[dict[uuid.UUID, int], np.ndarray, int]:
    """N logs in the tenant; returns row id -> its vector's index, the vectors (one per
    distinct line, or with ``blended`` one per row), and how many distinct lines."""
    generated = list(logs(rows, distinct=distinct_lines(rows)))
    lines = sorted({log.message for log in generated})
    index = {line: n for n, line in enumerate(lines)}
    name = re.sub(r"[^a-z0-9]+", "-", embedder.name.lower())
    matrix = await _vectors(embedder, lines, data_dir / "bench" / f"retrieval-{name}.npz")
    picks = [index[log.message] for log in generated]
    if blended:
        matrix, picks = _blend(matrix, picks), list(range(rows))
    as_lists = matrix.tolist()
    line_of: dict[uuid.UUID, int] = {}
    for start in range(0, rows, INSERT_BATCH):
        batch = []
        for n, log in enumerate(generated[start:start + INSERT_BATCH], start):
            row_id = uuid.uuid4()
            line_of[row_id] = picks[n]
            # a blended row is a text of its own, as a log line with a record id in it is
            message = f"{log.message} (event {n})" if blended else log.message
            batch.append({"id": row_id, "tenant_id": caller.tenant_id, "severity": log.severity,
                          "category": log.category, "message": message, "details": {},
                          "embedding": as_lists[picks[n]]})
        async with services.db.transaction(caller.tenant_id) as session:
            await session.execute(insert(HealthLog), batch)
    async with services.db.transaction(caller.tenant_id) as session:
        await session.execute(text(KNOWN_VECTORS), {"tenant": caller.tenant_id})
    # VACUUM too: an earlier run's deleted rows would still sit in the HNSW index until
    # autovacuum came by, and crowd the candidates of every scan
    async with services.db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE health_logs, knowledge_vectors"))
    return line_of, matrix, len(lines)


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return (time.perf_counter() - started) * 1000, result


def _percentile(values: list[float], share: float) -> float:
    return round(float(np.percentile(values, share * 100)), 2)


async def bench_retrieval(settings: Settings, rows: int, *, keep: bool = False,
                          blended: bool = False) -> dict[str, Any]:
    async with running(settings, queue=False) as services:
        caller = await _tenant(services)
        try:
            return await _measure(services, caller, rows, keep, blended)
        finally:
            if not keep:
                async with services.db.transaction(None) as session:
                    await session.execute(delete(Tenant).where(Tenant.id == caller.tenant_id))


async def _measure(services: Services, caller: Caller, rows: int, keep: bool,
                   blended: bool) -> dict[str, Any]:
    embedder = embedder_for(services.settings)
    started = time.perf_counter()
    line_of, matrix, lines = await _store(services, caller, rows, embedder,
                                          services.settings.data_dir, blended)
    load_s = time.perf_counter() - started
    asked = [q.query for q in queries()]
    embed_ms, vectors = [], []
    for query in asked:
        took, vector = await _timed(lambda q=query: embedder.embed_query(q))  # type: ignore[misc]
        embed_ms.append(took)
        vectors.append(vector)
    db, tenant = services.db, caller.tenant_id

    async def fused(query: str, vector: list[float]) -> Any:
        async with db.transaction(tenant) as session:
            return await fused_search(session, query, vector, ("log", "insight"), 5)

    async def nearest(vector: list[float], exact: bool) -> list[uuid.UUID]:
        async with db.transaction(tenant) as session:
            return await vector_ranked(session, "log", vector, K, exact=exact)

    fused_ms, hnsw_ms, exact_ms, found = [], [], [], []
    for round_ in range(ROUNDS + 1):
        for query, vector in zip(asked, vectors, strict=True):
            took_fused, _ = await _timed(lambda q=query, v=vector: fused(q, v))  # type: ignore[misc]
            took_hnsw, approximate = await _timed(lambda v=vector: nearest(v, False))  # type: ignore[misc]
            took_exact, exact = await _timed(lambda v=vector: nearest(v, True))  # type: ignore[misc]
            if round_ == 0:  # warm-up: caches and plans; its recall is the same
                query_vector = np.asarray(vector, dtype=np.float32)
                query_vector /= max(float(np.linalg.norm(query_vector)), 1e-12)

                def distance(row: uuid.UUID, q: np.ndarray = query_vector) -> float:
                    return 1.0 - float(matrix[line_of[row]] @ q)

                limit = max(distance(row) for row in exact) + 1e-5
                found.append(sum(1 for row in approximate if distance(row) <= limit)
                             / max(len(exact), 1))
                continue
            fused_ms.append(took_fused)
            hnsw_ms.append(took_hnsw)
            exact_ms.append(took_exact)
    result: dict[str, Any] = {
        "rows": rows, "distinct_lines": lines,
        "vectors_in_graph": int(matrix.shape[0]), "blended": blended,
        "p50_ms": _percentile(fused_ms, 0.5), "p99_ms": _percentile(fused_ms, 0.99),
        "hnsw_p50_ms": _percentile(hnsw_ms, 0.5), "exact_p50_ms": _percentile(exact_ms, 0.5),
        "exact_over_hnsw": round(statistics.median(exact_ms) / statistics.median(hnsw_ms), 1),
        "recall_vs_exact": round(statistics.mean(found), 3),
        "embed_query_p50_ms": _percentile(embed_ms, 0.5), "queries": len(asked),
        "samples": len(fused_ms), "embedder": embedder.name, "load_s": round(load_s, 1),
        "note": NOTE.format(ef=EF_SEARCH, c=CANDIDATES, k=K),
    }
    if keep:
        result["kept"] = {"tenant": str(caller.tenant_id)}
    return result
