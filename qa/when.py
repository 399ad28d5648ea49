"""An answer's relative dates ("on Tuesday") given their absolute date beside them, from the
dates its cited passages resolved at index time (index/dates.py)."""
from __future__ import annotations

import datetime
import re

from index.dates import spoken
from index.types import Passage
from qa import text as T
from qa.types import Citation

_ABSOLUTE = re.compile(r"\b\d{4}\b")  # a phrase with its year needs nothing beside it


def annotate(text: str, citations: list[Citation], passages: list[Passage]) -> str:
    """`text` with "(3 May 2011)" after each date phrase that a sentence's cited passage
    wrote and resolved; a phrase whose passage has no resolved date stays as written."""
    by_id = {p.id: p for p in passages}
    cited = {c.number: by_id.get(c.passage_id) for c in citations}
    out, at = [], 0
    for start, end in T.sentence_spans(text):
        sentence = text[start:end]
        phrases = [d for n in T.cited_numbers(sentence) if cited.get(n)
                   for d in _phrases(cited[n])]
        out.append(text[at:start] + _beside(sentence, phrases))
        at = end
    return "".join(out) + text[at:]


def dated(sentence: str, p: Passage) -> str:
    """A sentence of passage `p` with its relative dates' dates beside them: the model is
    shown "on Tuesday (3 May 2011)" instead of working the date out from the article's."""
    return _beside(sentence, _phrases(p))


def _phrases(p: Passage) -> list[tuple[str, str, str]]:
    """(the words as written, the date as shown, ISO) of a passage's relative date phrases."""
    return [(p.text[a:b], spoken(iso, period), iso) for a, b, iso, period in (p.dates or [])
            if not _ABSOLUTE.search(p.text[a:b]) and period in ("day", "week", "month")]


def _written(iso: str, sentence: str) -> bool:
    """Whether the sentence already gives the date with its year ("June 13, 2016")."""
    d = datetime.date.fromisoformat(iso)
    return any(form in sentence for form in (f"{d.day} {d:%B} {d.year}",
                                             f"{d:%B} {d.day}, {d.year}", d.isoformat()))


def _beside(sentence: str, phrases: list[tuple[str, str, str]]) -> str:
    done = set()
    for words, shown, iso in phrases:
        if words.lower() in done or shown in sentence or _written(iso, sentence):
            continue
        m = re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, words.split())) + r"(?!\w)",
                      sentence, re.I)
        # "January 1, 2014" has its year right after: nothing to add.
        if m and not re.match(r"\s*(?:\(|,?\s*\d{4}\b)", sentence[m.end():]):
            sentence = f"{sentence[:m.end()]} ({shown}){sentence[m.end():]}"
            done.add(words.lower())
    return sentence
