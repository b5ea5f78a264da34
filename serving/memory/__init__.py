"""Tier-1 memory: chunks of the curated corpus in Milvus, searched densely and with BM25.

``embed`` cuts a chunk into model windows and embeds them offline; ``store`` is the Milvus
collection (milvus-lite file or server, same code); ``indexer`` keeps it in step with
``memory_chunks``; ``retrieve`` is hybrid search, reformulation, two hops and post-filters;
``tool`` is what the model's tool router calls.
"""
