"""How well each passage, sentence by sentence, matches a question (MiniLM cosine similarity)."""
from __future__ import annotations

import numpy as np

from index.types import Passage
from qa import text as T

_KEEP = 50_000  # sentence vectors kept between questions (about 75 MB)
_known: dict[str, np.ndarray] = {}


def encode(texts: list[str], bulk=None) -> np.ndarray:
    """Unit vectors of the texts; a sentence seen before is not encoded again. `bulk(texts)`,
    if given, encodes the new ones (sentence-transformers, for many at once)."""
    from threadpoolctl import threadpool_limits

    from index.encode import encoder

    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    new = [t for t in dict.fromkeys(texts) if t not in _known]
    if len(_known) + len(new) > _KEEP:
        _known.clear()
        new = list(dict.fromkeys(texts))
    if new and bulk is not None:
        _known.update(zip(new, np.asarray(bulk(new), dtype=np.float32)))
    elif new:
        # One BLAS thread: small matrices gain little from more, and a busy second core (the
        # LLM's threads winding down, another process) made two threads ten times slower.
        with threadpool_limits(1):
            _known.update(zip(new, encoder().encode(new)))
    return np.asarray([_known[t] for t in texts]).reshape(len(texts), -1)


def split(text: str) -> list[str]:
    """A passage's sentences, as its vectors are kept."""
    return T.sentences(text) or [text]


class Sentences:
    """The sentences of some passages and their vectors."""

    def __init__(self, passages: list[Passage], vectors: list | None = None):
        """`vectors`: per passage, its sentences' vectors where known (else None)."""
        self.texts = [split(p.text) for p in passages]
        known = list(vectors) if vectors is not None else [None] * len(passages)
        for i, sents in enumerate(self.texts):
            if known[i] is None or len(known[i]) != len(sents):
                known[i] = None
        todo = [s for sents, v in zip(self.texts, known) if v is None for s in sents]
        fresh, at = encode(todo), 0
        self.vectors = []
        for sents, v in zip(self.texts, known):
            if v is None:
                v, at = fresh[at: at + len(sents)], at + len(sents)
            self.vectors.append(np.asarray(v, dtype=np.float32))

    def similarity(self, query: np.ndarray) -> list[np.ndarray]:
        """Per passage, the cosine similarity of each of its sentences to the query vector."""
        return [v @ query for v in self.vectors]

    def best(self, query: np.ndarray) -> np.ndarray:
        """Per passage, its best sentence's similarity to the query vector."""
        return np.asarray([s.max() for s in self.similarity(query)])
