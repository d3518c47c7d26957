"""`connectus bench retrieval` end to end at a small N, through the real CLI entry: one
JSON object with the latency figures and a sane recall of the HNSW ranking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import psycopg

ROWS = 200


def test_bench_retrieval_prints_one_json_object(database_url: str, secret_keys: list[str],
                                                tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "CONNECTUS_DATA_DIR": str(tmp_path),
           "CONNECTUS_SECRET_KEYS": secret_keys[0]}
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run([sys.executable, "-m", "ui.cli", "bench", "retrieval", "--rows",
                           str(ROWS), "--json"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    for key in ("p50_ms", "p99_ms", "exact_p50_ms", "recall_vs_exact", "rows"):
        assert key in result, key
    assert result["rows"] == ROWS and result["samples"] == 3 * result["queries"] >= 150
    assert 0 < result["p50_ms"] <= result["p99_ms"] and result["exact_p50_ms"] > 0
    assert result["recall_vs_exact"] >= 0.9
    assert (tmp_path / "bench").is_dir()  # the vectors are kept for the next run
    with psycopg.connect(database_url) as connection:
        left = connection.execute("SELECT count(*) FROM health_logs").fetchone()
    assert left == (0,)  # its tenant is gone again


def test_blended_rows_are_each_their_own_vector_and_nearer_their_own_line() -> None:
    from evals.bench.retrieval import _blend

    rng = np.random.default_rng(3)
    lines = rng.normal(size=(20, 384)).astype(np.float32)
    lines /= np.linalg.norm(lines, axis=1, keepdims=True)
    picks = [n % 20 for n in range(500)]
    rows = _blend(lines, picks)
    assert rows.shape == (500, 384)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1, atol=1e-5)
    assert len({row.tobytes() for row in rows}) == 500  # no two rows alike
    similarity = rows @ lines.T
    # moved at most half way: each row is still nearest its own line (or ties the other)
    own = similarity[np.arange(500), picks]
    assert np.all(own >= similarity.max(axis=1) - 1e-5)
    assert float(np.mean(own)) < 0.99  # and moved: not copies of their lines
