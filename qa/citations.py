"""Citations in generated text: checked, renumbered in order of first use, mapped to passages."""
from __future__ import annotations

import re
from functools import lru_cache

from qa.types import Citation, Passage

# "[2]", "[1, 3]", "[1][2]", "[Passage 2]", "[1-2]"
CITE = re.compile(r"\[\s*(?:passages?\s*)?(\d+(?:\s*(?:,|and|-|–)\s*\d+)*)\s*\]", re.I)
_STOP = set("""a an the of in on at to for from by with and or but is are was were be been has
have had it its this that these those as into than then there their they he she his her him
them who whom which what when where why how did do does not no said says say about after
before over under up out more most some any all also just only very can could would should
will may might one two article articles passage passages""".split())


def words(text: str) -> list[str]:
    """Lowercase words and numbers; "Hamas’s" and "Hamas's" are both "hamas"."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"\bu\.\s?s\.", "united states ", text)
    text = re.sub(r"\bu\.\s?n\.", "united nations ", text)
    return [re.sub(r"'s$", "", w) for w in re.findall(r"[a-z0-9]+(?:[.,'][a-z0-9]+)*", text)]


@lru_cache(maxsize=1)
def _stem():
    import Stemmer  # PyStemmer, already installed for BM25

    return Stemmer.Stemmer("english").stemWord


# "Oct." and "October" are the same word.
_MONTHS = {m[:n]: m[:3] for m in ("january february march april may june july august september "
                                  "october november december").split() for n in (3, 4, len(m))}
_MONTHS.pop("may")  # also a verb


def terms(text: str, skip: set[str] = frozenset()) -> list[str]:
    """The text's words but `skip` ones, stemmed, in order, so 'fired' matches 'firing' and
    '1,000' matches '1000'."""
    stem = _stem()
    return [_MONTHS.get(w) or stem(w.replace(",", "")) for w in words(text) if w not in skip]


def content_words(text: str) -> set[str]:
    """Stemmed words that carry meaning."""
    return set(terms(text, _STOP))


def mentioned(name: str, vocabulary: set[str]) -> bool:
    """Whether a stemmed name is in the vocabulary; "iranian" counts as "iran" (same start)."""
    if name in vocabulary:
        return True
    return len(name) >= 4 and any(len(v) >= 4 and v.startswith(name[:4]) for v in vocabulary)


def names(sentence: str, proper: set[str] = frozenset()) -> set[str]:
    """Stemmed capitalised words: the names a claim must not invent. The first word counts only
    if it is in `proper` (see `proper_names`): any word is capitalised there."""
    body = CITE.sub("", sentence)
    caps = re.findall(r"(?<![\w.’'-])[A-Z][\w’'.-]*", body)
    first = re.match(r"\W*([\w’'.-]+)", body)
    lead = set()
    if caps and first and caps[0] == first.group(1):
        lead = content_words(caps.pop(0)) & proper
    return {n for n in content_words(" ".join(caps)) | lead if len(n) >= 3}


def proper_names(text: str) -> set[str]:
    """The names `text` writes capitalised after a sentence's first word ("Hodeidah")."""
    return set().union(*(names(s) for s in sentences(text)))


def plain(text: str) -> str:
    """Lowercase words separated by single spaces, for comparing quotations."""
    return " ".join(words(text))


def quotations(sentence: str) -> list[str]:
    """Phrases the sentence puts in quotation marks."""
    return [q for pair in re.findall(r'"([^"]+)"|“([^”]+)”', sentence) for q in pair if q.strip()]


# "<someone> said/told/urged ...": the verbs that attribute a claim to a speaker.
_SAYS = re.compile(r"\b(?:said|says|say|told|tells|declared|stated|urged|warned|added|emphasi[sz]ed|"
                   r"stressed|announced|insisted|claimed|vowed|described|condemned|conceded?|"
                   r"reaffirmed|called)\b")


def speaker_roles(sentence: str) -> list[str]:
    """The common-noun end of each speaker a sentence quotes ("the defense minister said" ->
    "defense minister"; "Lebanese officials told" -> "officials"); names are checked elsewhere."""
    body = CITE.sub("", sentence)
    roles = []
    for m in _SAYS.finditer(body):
        # The speaker is the phrase just before the verb, after the last clause boundary.
        before = re.split(r"[,;:\u2014(]|\b(?:that|and|while|but|as|when|because)\b",
                          body[:m.start()])[-1].split()[-6:]
        role = []
        for w in reversed(before):
            if not re.fullmatch(r"[a-z][a-z'’-]*", w) or w in ("the", "a", "an", "its", "his",
                                                             "her", "their"):
                break
            role.insert(0, w)
        if role and not set(role) & {"it", "he", "she", "they", "who", "which", "also",
                                     "previously", "later", "earlier", "reportedly"}:
            roles.append(" ".join(role))
    return roles


def says_phrase(text: str, phrase: str) -> bool:
    """Whether `text` has the words of `phrase` in a row, stemmed ("official" in "officials")."""
    want, have = terms(phrase), terms(text)
    return any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1))


# "What is the name of the Yemeni seaport that ...?" asks for a name given to a seaport.
_NAME_OF = re.compile(r"\bnames? of (?:the |a |an |its |their )?((?:[\w’'-]+ ){0,5}?[\w’'-]+)"
                      r"(?= (?:that|who|whom|whose|which|where|when|in|on|at|of|for|to|by|with|"
                      r"from|during|after|before)\b|[?,.;]|$)", re.I)


def named_thing(question: str) -> str | None:
    """The stemmed word for what a "name of ..." question wants named ("seaport"), else None."""
    m = _NAME_OF.search(question)
    head = content_words(m.group(1).split()[-1]) if m else set()
    return head.pop() if head else None


def names_it(name: str, thing: str, text: str, reach: int = 2) -> bool:
    """Whether a sentence of `text` puts the stemmed `name` within `reach` words of the stemmed
    `thing`, as in "the Hodeidah seaport" or "the port of Hodeidah": "a seaport used by the
    Houthis" and "Israel's killing of a senior Iranian commander" name neither."""
    for sentence in sentences(text):
        tokens = terms(sentence)
        for i, t in enumerate(tokens):
            if t == thing and mentioned(name, set(tokens[max(0, i - reach): i + reach + 1])):
                return True
    return False


def number_in_context(number: str, sentence: str, text: str, reach: int = 4) -> bool:
    """Whether `text` states `number` next to a word the sentence puts next to it.

    "7 soldiers" must not borrow the 7 of "Oct. 7 assault".
    """
    def neighbours(tokens: list[str]) -> list[set[str]]:
        near = [tokens[max(0, i - reach) : i] + tokens[i + 1 : i + 1 + reach]
                for i, t in enumerate(tokens) if t.replace(",", "") == number]
        return [content_words(" ".join(around)) for around in near]

    claim = set().union(*neighbours(words(CITE.sub("", sentence))))
    return any(claim & near for near in neighbours(words(text))) or not claim


class Renumberer:
    """Rewrites citation numbers as text streams in: first-used passage becomes [1], and so on.

    Numbers that point at no passage are dropped. A '[' whose group is not closed yet is held
    back, so what is emitted is already final.
    """

    def __init__(self, n_passages: int):
        self.n = n_passages
        self.order: list[int] = []  # original passage numbers, in order of first use
        self._pending = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        cut = text.rfind("[")
        if cut >= 0 and "]" not in text[cut:] and len(text) - cut < 24:
            text, self._pending = text[:cut], text[cut:]
        else:
            self._pending = ""
        return self.apply(text)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self.apply(text)

    def apply(self, text: str) -> str:
        """Renumber a complete text with the mapping built so far (extending it as needed)."""
        return CITE.sub(self._replace, text)

    def _replace(self, m: re.Match) -> str:
        out = []
        for n in _numbers(m.group(1)):
            if 1 <= n <= self.n:
                if n not in self.order:
                    self.order.append(n)
                new = f"[{self.order.index(n) + 1}]"
                if new not in out:
                    out.append(new)
        return "".join(out)


def _numbers(group: str) -> list[int]:
    nums = []
    for a, b in re.findall(r"(\d+)(?:\s*[-–]\s*(\d+))?", group):
        lo, hi = int(a), int(b or a)
        nums += list(range(lo, min(hi, lo + 10) + 1)) if hi >= lo else [lo]
    return nums


def normalize(text: str, n_passages: int) -> str:
    """Write every citation group as [a][b] with the original numbers, dropping unknown ones."""

    def one(m: re.Match) -> str:
        nums = dict.fromkeys(x for x in _numbers(m.group(1)) if 1 <= x <= n_passages)
        return "".join(f"[{x}]" for x in nums)

    return CITE.sub(one, text)


def numbers(text: str) -> set[str]:
    """Numbers as written, without thousands separators: '1,000' and '1000' are the same."""
    return {m.replace(",", "") for m in re.findall(r"\d+(?:[,.]\d+)*", CITE.sub("", text))}


def tidy(text: str) -> str:
    """Clean the spaces left where a citation was dropped."""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_ENUMERATION = re.compile(r"\s*\(\d+\)\s+")
_BOUNDARY = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’']))((?:\s*\[\d+\])*)\s+(?=[A-Z\"“'(])")
# A period after these ends no sentence: "U.S. officials", "Oct. 1", "Rear Adm. Hagari".
_ABBREVIATION = re.compile(
    r"(?:\b[A-Z]\.(?:[A-Z]\.)*|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Lt|Col|Sgt|Adm|Rep|Sen|Gov|Rev"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|No|vs|etc)\.)$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`: split after end punctuation and any citations
    that follow it, and at line breaks (a list item is a claim of its own, without its bullet)."""
    spans, offset = [], 0
    for line in text.splitlines(keepends=True):
        bullet = _BULLET.match(line)
        start = bullet.end() if bullet else 0
        for m in _BOUNDARY.finditer(line, start):
            if _ABBREVIATION.search(line[max(0, m.start() - 12) : m.start()]):
                continue
            spans.append((offset + start, offset + m.end(1)))
            start = m.end()
        spans.append((offset + start, offset + len(line)))
        offset += len(line)
    out = []
    for a, b in spans:
        piece = text[a:b]
        # "(1) Netanyahu said ... (2) The government ...": the model's own numbering is no claim.
        marker = _ENUMERATION.match(piece)
        if marker:
            a, piece = a + marker.end(), piece[marker.end():]
        a, b = a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip())
        if b > a:
            out.append((a, b))
    return out


def sentences(text: str) -> list[str]:
    """The sentences of `text` (see `sentence_spans`)."""
    return [text[a:b] for a, b in sentence_spans(text)]


def cited_numbers(text: str) -> list[int]:
    return [n for m in CITE.finditer(text) for n in _numbers(m.group(1))]


def best_sentence(passage_text: str, claim: str) -> str:
    """The passage sentence sharing most content words with the claim (what the cite points at)."""
    claim_words = content_words(CITE.sub("", claim))
    best, best_score = "", -1.0
    for sent in sentences(passage_text) or [passage_text]:
        score = len(claim_words & content_words(sent)) / (len(content_words(sent)) ** 0.5 + 1)
        if score > best_score:
            best, best_score = sent, score
    return best


def build_citations(text: str, order: list[int], passages: list[Passage]) -> list[Citation]:
    """Citation objects for the renumbered `text`; `order[i]` is the passage number of [i+1]."""
    by_new: dict[int, list[str]] = {}
    for sent in sentences(text):
        for n in set(cited_numbers(sent)):
            by_new.setdefault(n, []).append(sent)
    cites = []
    for new, original in enumerate(order, start=1):
        p = passages[original - 1]
        claim = " ".join(by_new.get(new, []))
        cites.append(Citation(
            number=new, source=p.source, passage_id=p.id, text=p.text, start=p.start,
            end=p.end, score=round(p.dense, 4), title=p.title,
            quote=best_sentence(p.text, claim) if claim else "",
        ))
    return cites


def support(sentence: str, text: str, given: set[str] = frozenset()) -> float:
    """Share of the sentence's content words that `text` contains; a `given` word (one the
    question used) that `text` lacks counts half, since an answer may restate its question."""
    claim = content_words(CITE.sub("", sentence))
    if not claim:
        return 0.0
    found = claim & content_words(text)
    return (len(found) + len((claim - found) & given) / 2) / len(claim)


# What a question asks for, and how an answer shows it gave one. An answer of the wrong kind
# ("Who ...?" answered with no name) is a related fact, not an answer.
# "who" asks only where a question or one of its parts starts: in "the official who spoke" it
# does not. "Which Arab states?" wants names, "which regions?" need not. "How much damage?" may
# be answered in words, so only "how many" asks for a number.
_ASKS_NAME = re.compile(r"(?:^|[,;:]\s*|\band\s+)(?:who|whom|whose)\b|\bnames?\b|"
                        r"\bwhich\s+(?-i:[A-Z])", re.I)
_ASKS_NUMBER = re.compile(r"\b(?:how many|what (?:number|percentage|share|proportion))\b", re.I)
_NUMBER_WORDS = set("""one two three four five six seven eight nine ten eleven twelve dozen
dozens twenty thirty forty fifty hundred hundreds thousand thousands million millions billion
billions several few handful half third quarter percent scores""".split())


def gives_asked_kind(question: str, answer: str, proper: set[str] = frozenset()) -> bool:
    """Whether an answer holds what its question asks for: a name the question did not
    already give for "who", "name" and "which <Capitalised>" questions, a number for "how
    many" ones. `proper` are the source's names, which count at the start of a sentence too."""
    given = content_words(question)
    if _ASKS_NAME.search(question):
        if not any(not mentioned(n, given) for s in sentences(answer) for n in names(s, proper)):
            return False
    if _ASKS_NUMBER.search(question):
        said = set(words(CITE.sub("", answer)))
        new_numbers = numbers(answer) - numbers(question)
        if not new_numbers and not (said & _NUMBER_WORDS) - set(words(question)):
            return False
    return True
