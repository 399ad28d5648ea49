"""How well each passage, sentence by sentence, matches a question (MiniLM cosine similarity)."""
from __future__ import annotations

import numpy as np

from index.types import Passage
from qa import text as T

_KEEP = 50_000  # sentence vectors kept between questions (about 75 MB)
_known: dict[str, np.ndarray] = {}


def encode(texts: list[str]) -> np.ndarray:
    """Unit vectors of the texts; a sentence seen before is not encoded again."""
    from threadpoolctl import threadpool_limits

    from index.encode import encoder

    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    new = [t for t in dict.fromkeys(texts) if t not in _known]
    if len(_known) + len(new) > _KEEP:
        _known.clear()
        new = list(dict.fromkeys(texts))
    if new:
        # One BLAS thread: small matrices gain little from more, and a busy second core (the
        # LLM's threads winding down, another process) made two threads ten times slower.
        with threadpool_limits(1):
            _known.update(zip(new, encoder().encode(new)))
    return np.asarray([_known[t] for t in texts]).reshape(len(texts), -1)


class Sentences:
    """The sentences of some passages and their vectors."""

    def __init__(self, passages: list[Passage], vectors: np.ndarray | None = None):
        """`vectors`: every sentence's, in order, as `flat()` gave them before."""
        self.texts = [T.sentences(p.text) or [p.text] for p in passages]
        flat = [s for sents in self.texts for s in sents]
        if vectors is None or len(vectors) != len(flat):
            vectors = encode(flat)
        else:
            _known.update(zip(flat, vectors))
        self.vectors, at = [], 0
        for sents in self.texts:
            self.vectors.append(vectors[at: at + len(sents)])
            at += len(sents)

    def flat(self) -> np.ndarray:
        return np.concatenate(self.vectors) if self.vectors else np.zeros((0, 384), np.float32)

    def similarity(self, query: np.ndarray) -> list[np.ndarray]:
        """Per passage, the cosine similarity of each of its sentences to the query vector."""
        return [v @ query for v in self.vectors]

    def best(self, query: np.ndarray) -> np.ndarray:
        """Per passage, its best sentence's similarity to the query vector."""
        return np.asarray([s.max() for s in self.similarity(query)])
