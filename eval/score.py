"""Scorers: pure functions of a question and an answer. Definitions in eval/README.md."""
from __future__ import annotations

import re
from collections import Counter

# How both systems mark citations: "[2]", "[1, 3]", "[Source 2]".
CITE = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*(?:,|and)\s*\d+)*)\s*\]", re.I)
# An item this short must match a whole word, or "UN" would be found in "unprecedented";
# longer ones may match inside a word, so "plane" is found in "airplane".
SHORT = 4
_PLAIN = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "-": " ", "‐": " ", "‑": " ",
                        "‒": " ", "–": " ", "—": " "})
_BOUNDARY = re.compile(r"[.!?]+(?:\s*\[[^\[\]]{1,30}\])*(?=\s+[A-Z\"“'(])")
_ARTICLES = {"a", "an", "the"}
# Every key of a question's metrics, in results.jsonl; None where one does not apply.
METRICS = ["passed", "correct", "abstained", "refused", "wrongly_refused", "f1", "hit",
           "answer_hit", "rr", "citation_precision", "citation_recall", "citations", "stated",
           "missing", "miss", "multipart", "flagged", "all_values", "date_right"]
# Why an answerable question was missed: the facts were not all among the passages read, or
# they were but the model's own text lacks one, or its text had them all and the checks cut one.
CAUSES = ("retrieval", "reader", "decision")


def normalize(text: str) -> str:
    """Lower case without citation marks, '1,000' as '1000', dashes as spaces, plain quotes."""
    text = CITE.sub(" ", text).lower().translate(_PLAIN)
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    return " ".join(text.split())


def has(item: str, text: str) -> bool:
    """Whether one must_include alternative occurs in normalized `text`."""
    item = normalize(item)
    pattern = re.escape(item)
    if len(item) <= SHORT:
        pattern = rf"(?<![a-z0-9]){pattern}(?![a-z0-9])"
    else:  # a number never matches part of a longer number: "1000" is not in "10000"
        pattern = ("(?<!\\d)" if item[0].isdigit() else "") + pattern
        pattern += "(?!\\d)" if item[-1].isdigit() else ""
    return re.search(pattern, text) is not None


def present(fact: str, text: str) -> bool:
    """Whether a must_include fact ("a|b": any alternative) occurs in normalized `text`."""
    return any(has(alt.strip(), text) for alt in fact.split("|"))


def facts_in(facts: list[str], text: str) -> list[str]:
    """The facts that `text` (raw) states."""
    text = normalize(text)
    return [f for f in facts if present(f, text)]


def cited_numbers(text: str) -> list[int]:
    """Citation numbers in order of appearance."""
    return [int(n) for m in CITE.finditer(text) for n in re.findall(r"\d+", m.group(1))]


def sentences(text: str) -> list[str]:
    """Split after end punctuation, and the citations right after it, before a capital."""
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        out.append(text[start:m.end()])
        start = m.end()
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 on normalized words, articles and citation marks left out."""
    pred, ref = _tokens(prediction), _tokens(reference)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _tokens(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", normalize(text)) if w not in _ARTICLES]


def retrieval(passages, facts: list[str], sources: list[str]) -> dict:
    """hit@k, answer-bearing hit@k and reciprocal rank over the passages the LLM was shown."""
    gold = set(sources)
    ranks = [i for i, p in enumerate(passages, start=1) if p.source in gold]
    shown = [normalize(p.text) for p in passages]
    return {
        "hit": bool(ranks),
        "answer_hit": all(any(present(f, t) for t in shown) for f in facts),
        "rr": 1.0 / ranks[0] if ranks else 0.0,
    }


def citation_quality(text: str, citations, stated: list[str], sources: list[str]):
    """(precision, recall) of an answer's citations; None where there is nothing to divide by.

    A citation is precise when its text holds a stated fact, or when it comes from a gold
    source and a sentence citing it states a fact. Recall is the share of stated facts found
    in at least one cited text: no citation, no recall.
    """
    citing: dict[int, list[str]] = {}
    for sent in sentences(text):
        for n in set(cited_numbers(sent)):
            citing.setdefault(n, []).append(normalize(sent))
    gold = set(sources)
    cited = [normalize(c.text) for c in citations]
    precise = 0
    for c, body in zip(citations, cited):
        holds_fact = any(present(f, body) for f in stated)
        backs_a_fact = c.source in gold and any(
            present(f, s) for s in citing.get(c.number, []) for f in stated)
        precise += holds_fact or backs_a_fact
    precision = precise / len(citations) if citations else None
    recall = (sum(any(present(f, body) for body in cited) for f in stated) / len(stated)
              if stated else None)
    return precision, recall


def miss(facts: list[str], retrieved: bool, written: list[str]) -> str:
    """The cause of a miss (CAUSES): `retrieved` whether the passages read held every fact,
    `written` the model's own texts before any check."""
    if not retrieved:
        return "retrieval"
    return "decision" if not set(facts) - set(facts_in(facts, " ".join(written))) else "reader"


def all_values(values: list[dict], text: str, citations) -> bool:
    """Whether every report's value is stated in a sentence that cites a passage of its own
    article (eval/news/: {"value": "15|fifteen", "source": file})."""
    source = {c.number: c.source for c in citations}
    said = [(normalize(s), {source.get(n) for n in cited_numbers(s)}) for s in sentences(text)]
    return all(any(present(v["value"], s) and v["source"] in cited for s, cited in said)
               for v in values)


def date_right(iso: str, text: str) -> bool:
    """Whether the answer gives the absolute date: '3 May 2011', 'May 3, 2011' or '2011-05-03'."""
    import datetime

    d = datetime.date.fromisoformat(iso)
    month = d.strftime("%B")
    forms = [f"{d.day} {month} {d.year}", f"{month} {d.day}, {d.year}", f"{month} {d.day} {d.year}",
             f"{d.day} {month[:3]} {d.year}", f"{month[:3]} {d.day}, {d.year}", d.isoformat()]
    text = normalize(text)
    return any(has(f, text) for f in forms)


def score(question, answer) -> dict:
    """Every metric of one answer to one question; None where a metric does not apply."""
    m = dict.fromkeys(METRICS)
    m["abstained"] = bool(answer.abstained)
    m["citations"] = len(answer.citations)
    m["flagged"] = bool(getattr(answer, "disagreements", None))
    kind = getattr(question, "kind", "plain")
    if kind == "disagreement":
        m["all_values"] = all_values(question.values, answer.text, answer.citations)
    if kind == "when":
        m["date_right"] = date_right(question.date, answer.text)
    if not question.answerable:
        m["refused"] = m["passed"] = m["abstained"]
        return m
    stated = facts_in(question.must_include, answer.text)
    m["stated"] = stated
    m["missing"] = [f for f in question.must_include if f not in stated]
    m["wrongly_refused"] = m["abstained"]
    m["correct"] = m["passed"] = not m["abstained"] and not m["missing"]
    m["f1"] = round(token_f1(answer.text, question.answer), 4)
    m.update(retrieval(answer.passages, question.must_include, question.sources))
    m["multipart"] = len(question.must_include) > 1
    if not m["correct"]:
        m["miss"] = miss(question.must_include, m["answer_hit"],
                         answer.candidates or [answer.text])
    if not m["abstained"]:
        m["citation_precision"], m["citation_recall"] = citation_quality(
            answer.text, answer.citations, stated, question.sources)
    return m
