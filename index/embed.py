"""The sentence-transformers embedding model, loaded once per process."""
from __future__ import annotations

from functools import lru_cache

from qa.models import embedding_model_path


@lru_cache(maxsize=2)
def load_embedder(batch_size: int = 32):
    """all-MiniLM-L6-v2 as a llama-index embedding model (normalised vectors, CPU)."""
    import transformers
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    transformers.logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise

    return HuggingFaceEmbedding(
        model_name=embedding_model_path(),
        device="cpu",
        normalize=True,
        embed_batch_size=batch_size,
    )
