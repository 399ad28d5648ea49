"""The model's quote: asked beside its answer to copy the words of a passage that answer the
question, it is matched back to the passages by fuzzy matching (RapidFuzz), as kotaemon's
inline citations match the phrases their model copies. Where it lands says which passage, and
which words of it, the model read the answer from; a claim that says the same is better
founded, and the citation highlights those words."""
from __future__ import annotations

import re
from dataclasses import dataclass

from qa import text as T

NONE = re.compile(r"^\W*(none|n/a|nothing)\b", re.I)
LEAST = 70.0  # a lower match is a quote no passage holds (the model wrote its own words)


@dataclass
class Located:
    passage: int  # index into the passages
    start: int  # character offsets in the passage's text
    end: int
    score: float  # 0..100

    def words(self, passages) -> str:
        return passages[self.passage].text[self.start: self.end]


def locate(quote: str, passages) -> Located | None:
    """Where a passage gives the quote best, or None for "none" or words no passage holds."""
    from rapidfuzz import fuzz

    quote = T.uncited(quote or "").strip().strip('"“”')
    if not quote or NONE.match(quote) or len(T.content_words(quote)) < 1:
        return None
    best = None
    for i, p in enumerate(passages):
        m = fuzz.partial_ratio_alignment(quote, p.text)
        if m and (best is None or m.score > best.score):
            best = Located(i, m.dest_start, m.dest_end, m.score)
    if best is None or best.score < LEAST:
        return None
    text = passages[best.passage].text
    start = text.rfind(" ", 0, best.start) + 1  # whole words
    end = text.find(" ", best.end)
    return Located(best.passage, start, len(text) if end < 0 else end, best.score)


def backs(located: Located | None, passages, passage: int, claim: str, question: str) -> float:
    """How well the quote backs a claim resting on `passage`: its match score (0..1) where it
    lies in that passage and holds a word the claim adds to the question, else 0."""
    if located is None or located.passage != passage:
        return 0.0
    added = T.content_words(claim) - T.content_words(question)
    held = T.content_words(located.words(passages))
    return located.score / 100 if any(T.mentioned(w, held) for w in added) else 0.0
