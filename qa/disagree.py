"""Where the articles disagree: the value each report gives for what a question asks (a count
or a date), stated side by side with its own citation, newest report first.

A value counts only where it is written about what the question asks (a number next to a
word of the question, a date in a sentence about it), one per article: the sentence of that
article most like the question. The same value written differently ("four hundred", "400")
is one value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.dates import spoken
from index.types import Passage
from qa import text as T
from qa.cite import citation
from qa.question import parts
from qa.types import Account, Citation

# A sentence is about the question when it is this close to it (MiniLM cosine), and this close
# to the best sentence read: a passing figure in a sentence on something else is no account.
ABOUT = 0.4
MARGIN = 0.25

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
          "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
          "eighty ninety").split()
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_WORD = r"(?:" + "|".join(_UNITS + list(_SCALES)) + r")"
# "15", "1,000", "7.5 million", "four hundred", "twenty-one", "a thousand" (not "hundreds of":
# a plural scale is no figure).
_NUMBER = re.compile(
    r"(?<![\w.,$])\$?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s+(hundred|thousand|million|billion)\b)?"
    r"(?![\w.,]\d)|\b((?:a\s+)?" + _WORD + r"(?:(?:\s+and\s+|[\s-]+)" + _WORD + r")*)\b(?!s\b)",
    re.I)
# Words between a number and what it counts that say nothing about which thing it is.
_BETWEEN = {"of", "the", "new", "were",
            "was", "have", "had", "are", "is", "been", "being", "percent", "per", "cent"}
_VERB = (r"were|was|are|is|have|has|had|did|do|does|will|would|can|could|may|might|been|"
         r"\w+ed|fled|ran|broke|took|made|left|went|came|fell|hit|shot|lost|burnt|remain|"
         r"remains|live|lives|work|works|die|flee|escape|attend|join|take|leave|say|says")
# A number with no noun after it: punctuation, the sentence's end, a verb or a preposition.
_BARE = re.compile(r"\s*(?:[,.;:)]|$|(?:have|has|had|were|was|are|is|will|would|in|on|at|from|"
                   r"after|since|to|and|or|by|for|this|last|so)\b)", re.I)
_ELSEWHERE = re.compile(r"\s+(?:in|at|on|from)\s+(?:the\s+)?[A-Z]")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_IN_DATE = re.compile(_MONTH + r"\s+$")
_DATE_AFTER = re.compile(r"(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"\b")
_FORM = {"mani", "much", "number", "total", "count"}  # stems of the asking words
_WHEN = re.compile(r"^\s*(?:when\b|on what (?:day|date)|what (?:day|date)|(?:on |in )?which "
                   r"(?:day|date|month|year))", re.I)
# What "how many" counts: its words up to the verb ("how many Al Qaeda fighters fled").
_COUNTED = re.compile(r"\b(?:how many|number of)\s+((?:(?!(?:" + _VERB + r")\b)[A-Za-z'’-]+\s*){1,4})",
                      re.I)
# "4 more people died" tells an increase, not the total.
_MORE = re.compile(r"\s+(?:more|other|additional|further|extra)\b", re.I)
_COUNT = re.compile(r"\b(?:how many|how much|number of|toll|total|tally|count)\b", re.I)


@dataclass
class _Found:
    passage: int
    sentence: str
    value: str  # the normalised value: "400", "2011-05-03"
    words: str  # as the article writes it
    similarity: float


def asked(question: str) -> str:
    """What kind of value the question asks for: `date`, `count`, or '' (neither)."""
    if _WHEN.search(question):
        return "date"
    if _COUNT.search(question):
        return "count"
    return ""


def find(question: str, passages: list[Passage], sentences, topicality) -> list[_Found]:
    """One account per article of the value the question asks for, where two or more articles
    give different values; else []. `topicality`: per passage, each sentence's similarity to
    the question (qa/judge.py)."""
    kind = asked(question)
    # A question of several parts asks for several values: theirs are no disagreement.
    if not kind or parts(question) or len({p.path for p in passages}) < 2:
        return []
    best_all = max((float(t.max()) for t in topicality if len(t)), default=0.0)
    floor = max(ABOUT, best_all - MARGIN)
    asked_words, counted = T.content_words(question), _counted(question)
    # What the question says of the counted thing ("died", "harmed"): a sentence counting the
    # same thing must say some of it too, or it counts them for something else.
    said = asked_words - counted - _FORM
    by_article: dict[str, _Found] = {}
    for i, p in enumerate(passages):
        spans = T.sentence_spans(p.text) or [(0, len(p.text))]
        texts = sentences.texts[i]
        for j, sim in enumerate(topicality[i]):
            if sim < floor or j >= len(texts):
                continue
            start = spans[j][0] if len(spans) == len(texts) else p.text.find(texts[j])
            if kind == "date":
                got = _dates(p, start, texts[j])
            elif said and not said & T.content_words(texts[j]):
                continue
            else:
                got = counts(texts[j], asked_words, counted)
            if not got:
                continue
            value, words = got[0]
            held = by_article.get(p.path)
            if held is None or sim > held.similarity:
                by_article[p.path] = _Found(i, texts[j], value, words, float(sim))
    found = list(by_article.values())
    if len({f.value for f in found}) < 2:
        return []
    return found


def state(found: list[_Found], passages: list[Passage], kind: str) -> tuple[str, list[Citation],
                                                                              list[Account]]:
    """The answer that gives each report's value with its citation, newest report first."""
    order = sorted(found, key=lambda f: (passages[f.passage].date or "", -f.similarity),
                   reverse=True)
    order = ([f for f in order if passages[f.passage].date]
             + sorted((f for f in order if not passages[f.passage].date),
                      key=lambda f: -f.similarity))
    lines, citations, accounts = ["The reports differ."], [], []
    for number, f in enumerate(order, start=1):
        p = passages[f.passage]
        shown = spoken(f.value) if kind == "date" else f.words
        quote = " ".join(f.sentence.split())
        lines.append(f"{_who(p)} gives {shown}: “{quote}” [{number}].")
        citations.append(citation(p, number, f.sentence))
        accounts.append(Account(value=f.value, words=shown, sentence=quote, citation=number,
                                source=p.source, outlet=p.outlet, date=p.date))
    return " ".join(lines), citations, accounts


def _who(p: Passage) -> str:
    """'The Evening Post of 4 May 2011', or the report's headline where no outlet is known."""
    name = f"The {p.outlet}" if p.outlet and not p.outlet.lower().startswith("the ") else p.outlet
    if not name:
        title = " ".join(p.title.split()[:10]) + ("…" if len(p.title.split()) > 10 else "")
        name = f"The report “{title}”"
    return f"{name} of {spoken(p.date)}" if p.date else name


def _counted(question: str) -> set[str]:
    """What a count question counts: 'people' in "How many people died?"; else every word
    of it ("What was the death toll?")."""
    m = _COUNTED.search(question)
    words = T.content_words(m.group(1)) if m else set()
    return words or T.content_words(question)


def counts(sentence: str, asked_words: set[str], counted: set[str] | None = None
           ) -> list[tuple[str, str]]:
    """The numbers of a sentence written about what the question counts: (value, as written).
    "15 soldiers" counts soldiers, so it must name what is `counted`; a bare number ("the toll
    rose to 17.", "35 have been shot") must stand by a word of the question."""
    counted = asked_words if counted is None else counted
    between = {T.stem(b) for b in _BETWEEN}
    out = []
    for m in _NUMBER.finditer(sentence):
        value = _value(m)
        if value is None or _IN_DATE.search(sentence[max(0, m.start() - 12):m.start()]) \
                or _DATE_AFTER.match(sentence, m.end()) or _MORE.match(sentence, m.end()):
            continue  # the day of "October 1" or "1 October" is no count, "4 more" no total
        after = T.terms(sentence[m.end():m.end() + 40])
        if _ELSEWHERE.match(sentence, m.end()):
            continue  # "five in Victoria, three in the Northern Territory": other places' figures
        if _BARE.match(sentence, m.end()):
            near = T.terms(sentence[max(0, m.start() - 40):m.start()])[-4:] + after[:4]
            found = any(w in asked_words for w in near)
        else:
            found = any(w in counted for w in [w for w in after if w not in between][:2])
        if found:
            out.append((value, m.group().strip()))
    return out


def _value(m: re.Match) -> str | None:
    """A number match as a plain number string; None for a year-like or unreadable one."""
    if m.group(1):
        digits, scale = m.group(1).replace(",", ""), m.group(2)
        number = float(digits) * _SCALES.get((scale or "").lower(), 1)
        if not scale and m.group(1).isdigit() and 1900 <= number <= 2100:
            return None  # a year, not a count
    elif m.group(3).lower() in ("one", *_SCALES):
        return None  # "one of them", "one man said"; "several hundred": no figure
    else:
        number = _spelled(m.group(3))
        if number is None:
            return None
    if number >= 1e15:
        return None
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _spelled(words: str) -> float | None:
    """'four hundred' as 400 (text2num, a maintained English number parser)."""
    from text_to_num import text2num

    words = re.sub(r"^a\s+", "one ", words.strip(), flags=re.I).lower().replace("-", " ")
    try:
        return float(text2num(words, "en"))
    except ValueError:
        return None


def _dates(p: Passage, start: int, sentence: str) -> list[tuple[str, str]]:
    """The day-dates of a sentence (resolved at index time) as (ISO date, as written)."""
    end = start + len(sentence)
    return [(iso, p.text[a:b]) for a, b, iso, period in (p.dates or [])
            if period == "day" and start <= a < end]

