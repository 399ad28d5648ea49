"""A topic's dated events: each sentence of the articles about it that carries a resolved date
(index/dates.py) is an event; one event reported by several articles is one row with all
their citations, and a row says where their figures differ."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from index.dates import spoken
from index.types import Passage
from qa import text as T
from qa.cite import citation
from qa.disagree import counts
from qa.types import Citation

# A passage is about the topic when its best sentence is this close to it (MiniLM cosine), and
# this close to the best sentence found: a topic is short, so the bar is lower than a
# question's. Each dated sentence of such a passage is an event ("The mayor will visit on
# Friday" names no storm but follows the storm's report); a dateline is none.
ABOUT = 0.3
MARGIN = 0.3
WORDS = 3  # an event says something beside its date: "Published March 4, 2024" does not
SAME = 0.6  # two reports of one day's event are one row when their sentences are this close


@dataclass
class Event:
    date: str  # ISO
    period: str  # day or month
    when: str  # the date as shown, "3 May 2011"
    text: str  # the sentence of the report most about the topic
    words: str  # the date as the article writes it
    citations: list[Citation] = field(default_factory=list)
    differ: str = ""  # where the reports of it give different figures
    _vector: object = None
    _sentences: list = field(default_factory=list)  # (citation number, sentence)

    def to_dict(self) -> dict:
        return {"date": self.date, "period": self.period, "when": self.when, "text": self.text,
                "words": self.words, "differ": self.differ,
                "citations": [c.__dict__ for c in self.citations]}


def timeline(passages: list[Passage], sentences, topicality, limit: int = 40) -> list[Event]:
    """The dated events of the passages about a topic, oldest first. `topicality`: per passage,
    each sentence's similarity to the topic (qa/relevance.py)."""
    best = max((float(t.max()) for t in topicality if len(t)), default=0.0)
    floor = max(ABOUT, best - MARGIN)
    found = []  # (similarity, passage index, sentence, date)
    for i, p in enumerate(passages):
        spans = T.sentence_spans(p.text)
        texts = sentences.texts[i]
        if len(spans) != len(texts):
            spans = [(p.text.find(t), p.text.find(t) + len(t)) for t in texts]
        if not len(topicality[i]) or float(topicality[i].max()) < floor:
            continue
        for j, sim in enumerate(topicality[i]):
            if j >= len(texts):
                continue
            dated = [d for d in (p.dates or []) if spans[j][0] <= d[0] < spans[j][1]
                     and d[3] in ("day", "month")]
            if dated and _says_more(texts[j], [p.text[a:b] for a, b, *_ in dated]):
                found.append((float(sim), i, j, dated[0]))
    events: list[Event] = []
    numbers: dict[str, int] = {}  # passage id -> citation number
    for sim, i, j, (a, b, iso, period) in sorted(found, key=lambda f: -f[0]):
        p, vector = passages[i], sentences.vectors[i][j]
        row = next((e for e in events if e.date == iso and float(e._vector @ vector) >= SAME),
                   None)
        if row is None:
            if len(events) >= limit:
                continue
            row = Event(iso, period, spoken(iso, period), " ".join(sentences.texts[i][j].split()),
                        p.text[a:b], _vector=vector)
            events.append(row)
        if p.id not in numbers:
            numbers[p.id] = len(numbers) + 1
        number = numbers[p.id]
        if all(c.number != number for c in row.citations):
            row.citations.append(citation(p, number, sentences.texts[i][j]))
            row._sentences.append((number, p.path, sentences.texts[i][j]))
    for e in events:
        e.differ = _differ(e._sentences)
    return sorted(events, key=lambda e: (e.date, min(c.number for c in e.citations)))


def _says_more(sentence: str, dates: list[str]) -> bool:
    for words in dates:
        sentence = sentence.replace(words, " ")
    return len(T.content_words(sentence) - {"publish", "post", "updat"}) >= WORDS


def _differ(reports: list[tuple[int, str, str]]) -> str:
    """'12 homes [1]; 15 homes [2]' where the articles of one row count the same thing
    differently; '' where they agree (or count different things)."""
    if len({path for _, path, _ in reports}) < 2:
        return ""
    counted: dict[str, dict[str, tuple]] = {}  # thing -> value -> (number, words, path)
    for number, path, sentence in reports:
        for value, words, thing in _things(sentence):
            counted.setdefault(thing, {}).setdefault(value, (number, words, path))
    parts = [f"{words} {thing} [{n}]" for thing, values in counted.items()
             if len(values) > 1 and len({v[2] for v in values.values()}) > 1
             for n, words, _ in values.values()]
    return "; ".join(parts)


def _things(sentence: str) -> list[tuple[str, str, str]]:
    """(value, as written, the word it counts) of a sentence's figures."""
    out = []
    for value, words in counts(sentence, T.content_words(sentence)):
        at = sentence.find(words) + len(words)
        after = [w for w in T.words(sentence[at:at + 30]) if w not in T.STOP]
        if after:
            out.append((value, words, after[0]))
    return out


def vector_of(topic: str) -> np.ndarray:
    from qa.relevance import encode

    return encode([topic])[0]
