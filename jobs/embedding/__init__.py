"""Embeddings for retrieval by meaning: the embedders (local by default, OpenAI when a key
is set) and the cron that embeds health logs and insights written without one."""
