"""Judging candidate answers: each sentence is attributed to the passage that states it and
checked (qa/grounding.py); the best candidate is kept, with what other candidates add from
other passages; nothing that holds up means a refusal."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from qa import grounding as G
from qa import text as T
from qa.relevance import Sentences, encode
from qa.types import Passage

REFUSAL = "The articles do not say."
_REFUSAL_HINTS = ("do not say", "does not say", "don't say", "doesn't say", "do not mention",
                  "does not mention", "not mentioned", "no information", "do not contain",
                  "does not contain", "do not provide", "does not provide", "not specified",
                  "do not specify", "does not specify", "cannot answer", "can't answer",
                  "not provided", "not stated", "no mention", "none of the sources",
                  "none of the articles", "none of the passages", "do not name",
                  "does not name", "do not give", "does not give", "do not identify",
                  "does not identify", "i don't know", "i do not know", "not clear")


def is_refusal(text: str) -> bool:
    """Whether an answer's first sentence says the articles lack the answer."""
    first = (T.sentences(text) or [""])[0].lower()
    return not text.strip() or any(h in first for h in _REFUSAL_HINTS)


@dataclass
class Claim:
    text: str  # without citation marks
    passage: int  # index into the passages, from 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Judged:
    claims: list[Claim]
    dropped: list[str]  # why sentences were dropped or cut
    answered: set = field(default_factory=set)  # candidates with a sentence that stands

    @property
    def score(self) -> tuple:
        kept = len(self.claims)
        return bool(kept), kept / max(1, kept + len(self.dropped)), kept


class Judge:
    """Checks answers to one question against the passages the model read."""

    def __init__(self, question: str, passages: list[Passage], support: float = 0.5,
                 on_topic: float = 0.3, sentences: Sentences | None = None):
        self.question, self.passages = question, passages
        self.min_support, self.min_on_topic = support, on_topic
        self.sentences = sentences or Sentences(passages)
        self._question_vector = encode([question])[0]
        self._topicality = self.sentences.similarity(self._question_vector)

    # What the checks compare claims with: made when the first claim is judged, after the
    # first words are written (the relevance gate and the focus need only the similarities).
    @cached_property
    def evidence(self) -> list[G.Evidence]:
        articles: dict[str, list[str]] = {}
        for p in self.passages:
            articles.setdefault(p.path, []).append(p.text)
        return [G.Evidence(p.text, header(p), " ".join(articles[p.path])) for p in self.passages]

    @cached_property
    def proper(self) -> set[str]:
        return T.proper_names(" ".join(e.all for e in self.evidence))

    @cached_property
    def known(self) -> set[str]:
        """Names the question used that the articles know: no invention where a claim repeats
        them; one they never mention ("What did <someone absent> say?") is not put to them."""
        vocabulary = T.content_words(" ".join(e.all for e in self.evidence))
        return {w for w in T.content_words(self.question) if T.mentioned(w, vocabulary)}

    @cached_property
    def _words(self) -> list[set[str]]:
        return [T.content_words(e.all) for e in self.evidence]

    def judge(self, answer: str) -> Judged:
        """The answer's sentences that hold up, each with the passage that states it."""
        if is_refusal(answer):
            return Judged([], ["the model refused"])
        claims, dropped = [], []
        for sentence in claims_of(answer):
            cited = [n - 1 for n in T.cited_numbers(sentence) if 0 < n <= len(self.passages)]
            body = T.uncited(sentence)
            if len(T.content_words(body)) < 2:
                continue  # a connective ("The articles differ:") needs no source
            claim, why = self.attribute(body, cited)
            if claim:
                claims.append(claim)
            else:
                dropped.append(f"{body!r}: {why}")
        why = self.unanswered(claims)
        if claims and why:
            return Judged([], dropped + [why])
        return Judged(claims, dropped)

    def unanswered(self, claims: list[Claim]) -> str:
        """Why the claims together do not answer the question, or ""."""
        text = " ".join(c.text for c in claims)
        if not G.gives_what_was_asked(self.question, text, self.proper):
            return "it does not give what was asked"
        if not any(G.names_the_thing(self.question, c.text, self.evidence[c.passage], self.proper)
                   for c in claims):
            return "no name it gives is the name asked for"
        if not any(G.counts_the_thing(self.question, c.text, self.evidence[c.passage])
                   for c in claims):
            return "no number it gives counts what was asked"
        return ""

    def attribute(self, body: str, cited: list[int]) -> tuple[Claim | None, str]:
        """The claim as the best passage states it (cut of a detail no passage gives, if
        need be), or None and why."""
        order = cited + [i for i in self._ranked(body) if i not in cited]
        why = "no passage states it"
        for i in order[:6]:
            problems = self.problems(body, i)
            if not problems:
                return Claim(body, i), ""
            trimmed = cut_details(body, problems.get("details", []))
            if trimmed and not self.problems(trimmed, i):
                return Claim(trimmed, i, [f"cut {problems['details']}"]), ""
            if i == order[0]:
                why = "; ".join(f"{k}: {v}" for k, v in problems.items())
        return None, why

    def measure(self, claim: str, i: int) -> dict:
        """What each check finds of the claim against passage `i` (qa/grounding.py)."""
        e = self.evidence[i]
        j = self._closest(claim, i)
        window = " ".join(self.sentences.texts[i][max(0, j - 1): j + 2])
        return {"numbers": G.unsupported_numbers(claim, e, self.question),
                "names": G.unsupported_names(claim, e, self.known, self.proper),
                "quotes": G.misquotations(claim, e),
                "speakers": G.unsupported_speakers(claim, e),
                "support": G.support(claim, window, e, self.question),
                "topical": float(self._topicality[i][max(0, j - 1): j + 2].max()),
                "absent": G.absent_names(self.question, e, self.known),
                "restates": not G.adds_to_question(self.question, claim),
                "header": G.restates_header(claim, e, self.question)}

    def problems(self, claim: str, i: int) -> dict:
        """What passage `i` does not back in the claim, by check; empty when it backs it all."""
        m, out = self.measure(claim, i), {}
        # A misquotation is a detail too: the words in quotation marks go, the rest may stand.
        details = m["numbers"] + m["names"] + m["quotes"]
        if details:
            out["details"] = details
        if m["speakers"]:
            out["speaker"] = m["speakers"]
        if m["support"] < self.min_support:
            out["support"] = round(m["support"], 2)
        if m["topical"] < self.min_on_topic:
            out["off topic"] = round(m["topical"], 2)
        if m["absent"]:
            out["question's names absent"] = m["absent"]
        if m["restates"]:
            out["restates the question"] = True
        if m["header"]:
            out["restates the header"] = True
        return out

    @property
    def topicality(self) -> list:
        """Per passage, each of its sentences' similarity to the question."""
        return self._topicality

    @property
    def relevance(self) -> list[float]:
        """Each passage's best sentence similarity to the question."""
        return [float(t.max()) for t in self._topicality]

    def _closest(self, claim: str, i: int) -> int:
        """The sentence of passage `i` that best matches the claim (MiniLM cosine)."""
        return int((self.sentences.vectors[i] @ encode([claim])[0]).argmax())

    def _ranked(self, body: str) -> list[int]:
        words = T.content_words(body)
        return sorted(range(len(self.passages)), key=lambda i: -len(words & self._words[i]))


def choose(candidates: list[tuple[Judge, str]], max_claims: int = 4) -> Judged:
    """The best-grounded candidate, plus the claims the others make from other passages; each
    candidate is judged against the question it answered (a part, or the whole)."""
    judged = [judge.judge(text) for judge, text in candidates]
    best = max(judged, key=lambda j: j.score)
    claims = list(best.claims)
    for other in judged:
        for c in other.claims:
            if len(claims) >= max_claims:
                break
            if not any(_same(c, k) for k in claims):
                claims.append(c)
    return Judged(claims, [d for j in judged for d in j.dropped],
                  {k for k, j in enumerate(judged) if j.claims})


def _same(a: Claim, b: Claim, overlap: float = 0.6) -> bool:
    """Whether claim `a` says what `b` says (mostly the same words, or from the same passage)."""
    wa, wb = T.content_words(a.text), T.content_words(b.text)
    return a.passage == b.passage or len(wa & wb) >= overlap * min(len(wa), len(wb))


def claims_of(text: str) -> list[str]:
    """The answer's sentences; a quotation running over several stays one claim."""
    out, open_quote = [], False
    for sentence in T.sentences(text):
        if open_quote:
            out[-1] += " " + sentence
        else:
            out.append(sentence)
        open_quote ^= (sentence.count('"') + sentence.count("“") + sentence.count("”")) % 2 == 1
    return out


_PREPOSITIONS = {"on", "in", "at", "near", "from", "during", "by", "since", "of", "to", "as"}


def cut_details(claim: str, details: list[str]) -> str | None:
    """The claim without the smallest piece holding each unsupported detail ("on July 1,
    2024", "in Tehran", "(the IRGC)", ", the army said,"), or None where none can go."""
    for detail in details:
        if not _holds(claim, detail):
            continue  # went with an earlier piece
        spans = [s for s in _pieces(claim) if _holds(claim[s[0]:s[1]], detail)]
        if not spans:
            return None
        a, b = min(spans, key=lambda s: s[1] - s[0])
        claim = (claim[:a] + claim[b:]).strip()
    claim = re.sub(r"\s+([.,;!?])", r"\1", claim)
    return claim if len(claim.split()) >= 4 else None


def _pieces(claim: str) -> list[tuple[int, int]]:
    """Spans that can leave a sentence without breaking it: a parenthesis, a phrase between
    commas or after the last one, and a prepositional phrase, up to the next preposition or
    to the next comma or clause ("on July 1, 2024", "since the 1982 invasion of Lebanon")."""
    patterns = [r"\s*\([^()]*\)", r",[^,]*(?=,)", r",[^,]*?(?=[.!?]?$)",
                r"\s+and\s+[^,]*?(?=[.!?]?$)"]
    spans = [m.span() for p in patterns for m in re.finditer(p, claim, re.I)]
    boundary = r"\s+(?:and|but|while|which|who|that|when)\s|[,;]|[.!?]?$"
    clause = f"(?={boundary})"
    preposition = r"(?=\s+(?:%s)\s|%s)" % ("|".join(_PREPOSITIONS - {"of"}), boundary)
    for m in re.finditer(r"\s+(?:%s)\s" % "|".join(_PREPOSITIONS), claim, re.I):
        for stop in (preposition, clause):  # at most five words: a longer run holds a verb
            end = re.compile(r"(?:\S+\s+){0,4}?\S*?" + stop, re.I).match(claim, m.end())
            if end:
                year = re.match(r",\s*\d{4}\b", claim[end.end():])  # a date's year goes with it
                spans.append((m.start(), end.end() + (year.end() if year else 0)))
    return spans


def _holds(piece: str, detail: str) -> bool:
    if " " in detail:  # a quotation: its words as written
        return detail in piece
    return detail in T.terms(piece) or detail in T.numbers(piece)


def header(p: Passage) -> str:
    """How an article is named to the model: title, then outlet and date where known."""
    about = ", ".join(x for x in (p.outlet, long_date(p.date)) if x)
    return f'"{p.title}"' + (f" ({about})" if about else "")


def long_date(iso: str) -> str:
    """'2024-10-01' as 'Tuesday, October 1, 2024': a weekday places "late Monday" in time."""
    import datetime

    try:
        d = datetime.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d:%A}, {d:%B} {d.day}, {d.year}"
