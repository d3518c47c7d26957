"""Retrieval by meaning, measured: a labelled set of health-log and insight text with
paraphrased queries (``documents.jsonl``, ``queries.jsonl``), recall@5 per embedding
candidate, and the generator of realistic logs the benchmark stores."""
