"""Citations: the chosen claims, numbered in order of first use, each pointing at the real
passage (article, offsets, text) and the sentence of it that supports the claim."""
from __future__ import annotations

from qa import text as T
from qa.judge import Claim
from qa.types import Citation, Passage


def cite(claims: list[Claim], passages: list[Passage], relevance: list[float],
         located=None) -> tuple[str, list[Citation]]:
    """The answer text with [n] marks, and its citations; `relevance` is each passage's
    similarity to the question. A citation highlights the passage's sentence most like its
    claims, or the model's quote (`located`, qa/quote.py) where it lies in that passage and
    shares a word with them."""
    order: list[int] = []
    sentences = []
    for c in claims:
        if c.passage not in order:
            order.append(c.passage)
        sentences.append(_with_mark(c.text, order.index(c.passage) + 1))
    citations = []
    for number, i in enumerate(order, start=1):
        p = passages[i]
        claimed = " ".join(c.text for c in claims if c.passage == i)
        citations.append(citation(p, number, _highlight(
            p.text, claimed, located.words(passages) if located and located.passage == i else ""),
            p.dense or float(relevance[i])))
    return " ".join(sentences), citations


def citation(p: Passage, number: int, quote: str, score: float | None = None) -> Citation:
    """Citation `number` of passage `p`, `quote` its sentence to highlight."""
    return Citation(number=number, source=p.source, passage_id=p.id, text=p.text, start=p.start,
                    end=p.end, score=round(p.dense if score is None else score, 4),
                    title=p.title, outlet=p.outlet, date=p.date, quote=quote)


def _with_mark(sentence: str, number: int) -> str:
    sentence = sentence.rstrip()
    if sentence and sentence[-1] in ".!?":
        return f"{sentence[:-1]} [{number}]{sentence[-1]}"
    return f"{sentence} [{number}]."


def _highlight(passage: str, claimed: str, quoted: str) -> str:
    if quoted and T.content_words(quoted) & T.content_words(claimed):
        return quoted
    return best_sentence(passage, claimed)


def best_sentence(passage: str, claim: str) -> str:
    """The passage sentence sharing most content words with the claim."""
    words = T.content_words(claim)
    return max(T.sentences(passage) or [passage],
               key=lambda s: len(words & T.content_words(s)) / (len(T.content_words(s)) ** 0.5 + 1))
