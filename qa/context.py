"""What the model reads: the sentences of the retrieved passages that bear on the question,
with their neighbours, within a budget of characters.

Prompt tokens are the main cost of an answer on a CPU, and a small model answers better from
a few relevant sentences than from whole passages full of near-misses.
"""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from index.types import Passage
from qa import text as C
from qa.question import parts

# Weight of the passage's own similarity in a sentence's score: a sentence from a passage that
# matches the question is worth more (eval/qa.jsonl: answer-bearing 0.83 at 0, 0.86 at 2).
PRIOR = 2.0


def select(question: str, passages: list[Passage], embedder, budget: int,
           query_embedding=None, window: int = 1) -> list[Passage]:
    """Each passage cut to the span of its chosen sentences; passages with none are dropped.

    Sentences are ranked by cosine similarity to the question, plus the share of the question's
    content words they contain, plus PRIOR times their passage's similarity (for a question of
    several parts, by their best standing for the whole or any part); each chosen sentence
    brings `window` neighbours on each side (who said it, what "it" is). Sentences repeated by
    overlapping passages count once.
    """
    if budget <= 0 or not passages:
        return passages
    spans = []  # per passage: (start, end) of its whole sentences, in the passage text
    sents = []  # (passage index, sentence index) of every distinct sentence
    seen = set()
    for i, p in enumerate(passages):
        spans.append(_whole(p.text, C.sentence_spans(p.text), first=p.start == 0))
        for j, (a, b) in enumerate(spans[-1]):
            key = (p.path or p.source, p.start + a)
            if key not in seen:
                seen.add(key)
                sents.append((i, j))
    texts = [passages[i].text[slice(*spans[i][j])] for i, j in sents]
    vectors = _embed(embedder, texts)
    owner = np.asarray([i for i, _ in sents])
    # For a question of several parts, each part ranks the sentences on its own, and a sentence
    # counts as much as its best standing against the best sentence for some part: a second
    # part matches less well in absolute terms and would otherwise get no sentence at all. A
    # passage's similarity to a part is that of its best sentence, as the retriever scored
    # passages against the whole question only.
    sentence_words = [C.content_words(t) for t in texts]
    score = np.full(len(texts), -np.inf)
    for k, query in enumerate([question, *parts(question)]):
        q = np.asarray(query_embedding if k == 0 and query_embedding is not None
                       else embedder.get_query_embedding(query))
        similarity = vectors @ q
        if k == 0:
            prior = np.asarray([passages[i].dense for i in owner])
        else:
            top = {i: similarity[owner == i].max() for i in set(owner)}
            prior = np.asarray([top[i] for i in owner])
        words = C.content_words(query)
        lexical = [len(words & w) / max(1, len(words)) for w in sentence_words]
        mine = similarity + np.asarray(lexical) + PRIOR * prior
        score = np.maximum(score, mine - mine.max())

    chosen: dict[int, set[int]] = {}
    best: dict[int, float] = {}
    used = 0
    for k in np.argsort(-score):
        i, j = sents[k]
        picked = chosen.setdefault(i, set())
        new = picked | {n for n in range(j - window, j + window + 1) if 0 <= n < len(spans[i])}
        cost = _length(spans[i], new) - _length(spans[i], picked)
        if used and used + cost > budget:
            continue
        chosen[i] = new
        best.setdefault(i, float(score[k]))
        used += cost
        if used >= budget:
            break

    out = []
    for i in sorted(best, key=lambda i: -best[i]):
        p, picked = passages[i], chosen[i]
        a, b = spans[i][min(picked)][0], spans[i][max(picked)][1]
        out.append(replace(p, text=p.text[a:b], start=p.start + a, end=p.start + b))
    return out


# Embedding the candidate sentences was most of select's time (0.28 s median for the eval
# questions), and the same sentences come back question after question, so their vectors are
# kept: per embedder, up to _KEEP sentences (about 75 MB for MiniLM's 384 floats).
_KEEP = 50_000
_vectors: dict[int, tuple[object, dict[str, np.ndarray]]] = {}


def _embed(embedder, texts: list[str]) -> np.ndarray:
    """The texts' embeddings, computing only those not seen before."""
    known = _vectors.setdefault(id(embedder), (embedder, {}))[1]
    new = [t for t in dict.fromkeys(texts) if t not in known]
    if len(known) + len(new) > _KEEP:
        known.clear()
        new = list(dict.fromkeys(texts))
    if new:
        known.update(zip(new, np.asarray(embedder.get_text_embedding_batch(new))))
    return np.asarray([known[t] for t in texts])


def _length(spans, picked) -> int:
    """Characters from the first to the last picked sentence: the excerpt is one slice."""
    return spans[max(picked)][1] - spans[min(picked)][0] if picked else 0


def _whole(text: str, spans: list[tuple[int, int]], first: bool) -> list[tuple[int, int]]:
    """The spans without the cut-off sentence a passage can start or end with.

    Passages overlap and may be cut mid-sentence; a fragment such as "7, killing 1,200 Israeli."
    (from "Oct. 7, killing ...") reads like a claim it is not.
    """
    if spans and not first and not re.match(r"[A-Z\"“‘'(\[]", text[spans[0][0]]):
        spans = spans[1:]
    if spans and not re.search(r"[.!?…\"”’')\]:]$", text[spans[-1][0]:spans[-1][1]]):
        spans = spans[:-1]
    return spans
