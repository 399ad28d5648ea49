"""Reading English text: sentences, words, stems, names, numbers and quotations."""
from __future__ import annotations

import re
from functools import lru_cache

# "[2]", "[1, 3]", "[1][2]", "[Passage 2]", "[1-2]"
CITE = re.compile(r"\[\s*(?:passages?\s*)?(\d+(?:\s*(?:,|and|-|–)\s*\d+)*)\s*\]", re.I)
STOP = set("""a an the of in on at to for from by with and or but is are was were be been being
has have had it its this that these those as into than then there their they he she his her him
them who whom whose which what when where why how did do does not no said says say about after
before over under up out more most some any all also just only very can could would should will
may might one article articles passage passages""".split())
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
# "Oct." and "October" are the same word.
_MONTHS = {m[:n]: m[:3] for m in ("january february march april may june july august september "
                                  "october november december").split() for n in (3, 4, len(m))}
_MONTHS.pop("may")  # also a verb


def words(text: str) -> list[str]:
    """Lowercase words and numbers; "Hamas’s" and "Hamas's" are both "hamas", "U.S." is "us"."""
    text = CITE.sub(" ", text).lower().replace("’", "'")
    text = re.sub(r"\b([a-z])\.(?=[a-z]\.)", r"\1", text)  # u.s. -> us., u.n. -> un.
    found = re.findall(r"[a-z0-9]+(?:[.,'][a-z0-9]+)*", text)
    return [re.sub(r"'s$", "", w) for w in found]


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer, installed with the BM25 retriever

    return Stemmer.Stemmer("english").stemWord


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """One word's stem: 'fired' is 'fire', 'Oct' is 'oct', '1,000' is '1000', 'four' is '4'."""
    word = word.replace(",", "") if word[:1].isdigit() else word
    return _MONTHS.get(word) or _NUMBER_WORDS.get(word) or _stemmer()(word)


def terms(text: str, skip: set[str] = frozenset()) -> list[str]:
    """The text's words but `skip` ones, stemmed, in order."""
    return [stem(w) for w in words(text) if w not in skip]


def content_words(text: str) -> set[str]:
    """Stemmed words that carry meaning."""
    return set(terms(text, STOP))


def mentioned(word: str, vocabulary: set[str]) -> bool:
    """Whether a stemmed word is in the vocabulary; "iranian" counts as "iran" (same start)."""
    if word in vocabulary:
        return True
    return len(word) >= 4 and any(len(v) >= 4 and v.startswith(word[:4]) for v in vocabulary)


# A period after these ends no sentence: "U.S. officials", "Oct. 1", "Rear Adm. Hagari".
_ABBREVIATION = re.compile(
    r"(?:\b[A-Z]\.(?:[A-Z]\.)*|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Lt|Col|Sgt|Adm|Rep|Sen|Gov|Rev"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|No|vs|etc|Inc|Corp|Co)\.)$")
_BOUNDARY = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’']))((?:\s*\[\d+\])*)\s+(?=[A-Z0-9\"“'(])")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_ENUMERATION = re.compile(r"\s*\(\d+\)\s+")  # "(1) ... (2) ...": a writer's own numbering


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: split after end punctuation (and any citations that follow
    it) and at line breaks; a list item's bullet and "(n)" numbering are left out."""
    spans, offset = [], 0
    for line in text.splitlines(keepends=True):
        bullet = _BULLET.match(line)
        start = bullet.end() if bullet else 0
        for m in _BOUNDARY.finditer(line, start):
            if not _ABBREVIATION.search(line[max(0, m.start() - 12) : m.start()]):
                spans.append((offset + start, offset + m.end(1)))
                start = m.end()
        spans.append((offset + start, offset + len(line)))
        offset += len(line)
    out = []
    for a, b in spans:
        marker = _ENUMERATION.match(text, a)
        a = marker.end() if marker and marker.end() < b else a
        piece = text[a:b]
        a, b = a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip())
        if b > a:
            out.append((a, b))
    return out


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def cited_numbers(text: str) -> list[int]:
    """The passage numbers a text cites, in order ("[1-3]" is 1, 2, 3)."""
    nums = []
    for m in CITE.finditer(text):
        for a, b in re.findall(r"(\d+)(?:\s*[-–]\s*(\d+))?", m.group(1)):
            lo, hi = int(a), int(b or a)
            nums += list(range(lo, min(hi, lo + 10) + 1)) if hi >= lo else [lo]
    return nums


def uncited(text: str) -> str:
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", CITE.sub("", text)).strip()


def names(sentence: str, proper: set[str] = frozenset()) -> set[str]:
    """Stemmed capitalised words: the names a claim must not invent. A sentence's first word is
    capitalised anyway, so it counts only if it is in `proper` (see `proper_names`)."""
    body = CITE.sub("", sentence)
    caps = re.findall(r"(?<![\w.’'-])[A-Z][\w’'.-]*", body)
    first = re.match(r"\W*([\w’'.-]+)", body)
    lead = set()
    if caps and first and caps[0] == first.group(1):
        lead = content_words(caps.pop(0)) & proper
    return {n for n in content_words(" ".join(caps)) | lead if len(n) >= 3 and not n.isdigit()}


def proper_names(text: str) -> set[str]:
    """The names `text` writes capitalised other than as a sentence's first word."""
    return set().union(*(names(s) for s in sentences(text)))


def numbers(text: str) -> set[str]:
    """Numbers as written, without thousands separators ('1,000' is '1000'), and small numbers
    written as words ('four' is '4')."""
    text = CITE.sub(" ", text)
    found = {m.replace(",", "") for m in re.findall(r"\d+(?:[,.]\d+)*", text)}
    return found | {_NUMBER_WORDS[w] for w in words(text) if w in _NUMBER_WORDS and w != "one"}


def quotations(sentence: str) -> list[str]:
    """Phrases the sentence puts in quotation marks."""
    return [q for pair in re.findall(r'"([^"]+)"|“([^”]+)”', sentence) for q in pair if q.strip()]


def plain(text: str) -> str:
    """Lowercase words separated by single spaces, for comparing quotations."""
    return " ".join(words(text))
