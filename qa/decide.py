"""Whether a claim stands: one calibrated decision over everything known of it.

Each sentence of each candidate answer may rest on any of the passages that could state it,
whole or with the details no passage gives cut out. Each such option is measured by every
grounding check (qa/grounding.py: as features, not vetoes), by how sure the model was of its
words, by how well its passage matched the question, and by whether it gives the kind of thing
asked. A logistic model, fitted on the project's question sets by `qa fit` (eval/fit.py) and
scored on each set with a model fitted without it, turns these into the probability that the
option states an answer its passage gives. The best option of a sentence stands when it
reaches the threshold chosen, on the sets fitted, for 90% precision; an answer is what
stands, and a refusal when nothing does.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from qa import grounding as G
from qa import quote as Q
from qa import text as T
from qa.errors import InputError
from qa.judge import Claim, Judge, Judged, claims_of, cut_details, is_refusal

DEFAULT = Path(__file__).with_name("decision.json")
FEATURES = ["numbers", "names", "quotes", "speakers", "support", "topical", "absent",
            "restates", "header", "kind", "named", "counted", "sure", "least_sure",
            "relevance", "cited", "cut", "part", "quoted", "no_quote"]
TRIED = 6  # passages an option may rest on: the ones it cites, then the most alike in words


@dataclass
class Option:
    """A sentence as one passage would back it."""

    claim: Claim
    features: dict
    sentence: int = 0  # which sentence of its candidate


@dataclass
class Decision:
    """A fitted logistic model: weights on standardised features, and the threshold."""

    weights: dict
    intercept: float
    means: dict
    scales: dict
    threshold: float
    fitted_on: list = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Decision":
        data = json.loads(Path(path or DEFAULT).read_text())
        return cls(**{k: data[k] for k in ("weights", "intercept", "means", "scales",
                                           "threshold", "fitted_on") if k in data})

    def probability(self, features: dict) -> float:
        z = self.intercept
        for name, w in self.weights.items():
            value = features.get(name)
            if value is None or math.isnan(value):  # unknown (a hosted LLM's certainty)
                continue
            z += w * (value - self.means[name]) / self.scales[name]
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def load(setting: str) -> Decision | None:
    """The decision a `decision` setting names: none ("checks": today's checks decide),
    the shipped fitted one ("fitted"), or a `qa fit` file."""
    if setting in ("", "checks"):
        return None
    path = DEFAULT if setting == "fitted" else Path(setting)
    try:
        return Decision.load(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"Cannot use the decision in {path}: {e}. Run `qa fit` on `qa eval` "
                          "runs to write one, or use --decision checks.") from e


def options(judge: Judge, answer: str, pieces: list | None = None, part: bool = False,
            quote: str | None = None) -> list[Option]:
    """Every option of every sentence of a candidate answer (none for a refusal); `quote` is
    the model's copy of the words that answer the question (qa/quote.py), None if not asked."""
    if is_refusal(answer):
        return []
    sure = certainty(answer, pieces or [])
    located = Q.locate(quote, judge.passages) if quote is not None else None
    out = []
    for s, sentence in enumerate(claims_of(answer)):
        body = T.uncited(sentence)
        if len(T.content_words(body)) < 2:
            continue  # a connective ("The articles differ:") needs no source
        cited = [n - 1 for n in T.cited_numbers(sentence) if 0 < n <= len(judge.passages)]
        order = cited + [i for i in judge._ranked(body) if i not in cited]
        logprobs = sure.get(sentence, [])
        for i in order[:TRIED]:
            m = judge.measure(body, i)
            out.append(_option(judge, body, i, m, s, cited, logprobs, part, False))
            trimmed = cut_details(body, m["numbers"] + m["names"] + m["quotes"])
            if trimmed and trimmed != body:
                out.append(_option(judge, trimmed, i, judge.measure(trimmed, i), s, cited,
                                   logprobs, part, True))
    for o in out:
        o.features["quoted"] = (math.nan if quote is None else Q.backs(
            located, judge.passages, o.claim.passage, o.claim.text, judge.question))
        o.features["no_quote"] = math.nan if quote is None else float(located is None)
    return out


def _option(judge, claim, i, m, sentence, cited, logprobs, part, cut) -> Option:
    q, e = judge.question, judge.evidence[i]
    features = {
        "numbers": float(bool(m["numbers"])), "names": float(bool(m["names"])),
        "quotes": float(bool(m["quotes"])), "speakers": float(bool(m["speakers"])),
        "support": m["support"], "topical": m["topical"], "absent": float(bool(m["absent"])),
        "restates": float(m["restates"]), "header": float(m["header"]),
        "kind": float(G.gives_what_was_asked(q, claim, judge.proper)),
        "named": float(G.names_the_thing(q, claim, e, judge.proper)),
        "counted": float(G.counts_the_thing(q, claim, e)),
        "sure": sum(logprobs) / len(logprobs) if logprobs else math.nan,
        "least_sure": min(logprobs) if logprobs else math.nan,
        "relevance": judge.relevance[i], "cited": float(i in cited), "cut": float(cut),
        "part": float(part)}
    notes = [f"cut {m['numbers'] + m['names'] + m['quotes']}"] if cut else []
    return Option(Claim(claim, i, notes), features, sentence)


def certainty(answer: str, pieces: list) -> dict[str, list[float]]:
    """Each sentence of an answer and the log-probabilities of the tokens that wrote it."""
    spans, at = [], 0
    for text, logprob in pieces:
        spans.append((at, at + len(text), logprob))
        at += len(text)
    out, start = {}, 0
    for sentence in claims_of(answer):
        begin = answer.find(sentence, start)
        if begin < 0:
            continue
        end = start = begin + len(sentence)
        out[sentence] = [lp for a, b, lp in spans if a < end and b > begin and lp is not None]
    return out


def choose(candidates: list[tuple[Judge, str, list | None, bool]], decision: Decision,
           quote: str | None = None, max_claims: int = 4) -> Judged:
    """The answer from candidate answers, each (its judge, its text, its pieces, whether it
    answers a part of the question), and the model's quote."""
    return assemble([options(*c, quote=quote) for c in candidates], decision, max_claims,
                    [is_refusal(text) for _, text, _, _ in candidates])


def assemble(per_candidate: list[list[Option]], decision: Decision, max_claims: int = 4,
             refused: list[bool] | None = None) -> Judged:
    """The best option of each sentence that reaches the threshold, those of the question as
    asked first, then what the parts' candidates add; nothing standing means a refusal."""
    claims, dropped, answered = [], ["the model refused"] * sum(refused or []), set()
    for asked, opts in enumerate(per_candidate):
        best: dict[int, tuple[float, Option]] = {}
        for o in opts:
            p = decision.probability(o.features)
            if o.sentence not in best or p > best[o.sentence][0]:
                best[o.sentence] = (p, o)
        for p, o in best.values():
            if p < decision.threshold:
                dropped.append(f"{o.claim.text!r}: p {p:.2f} < {decision.threshold:.2f}")
                continue
            answered.add(asked)
            if len(claims) < max_claims and not any(_same(o.claim, c) for c in claims):
                claims.append(Claim(o.claim.text, o.claim.passage, o.claim.notes + [f"p {p:.2f}"]))
    return Judged(claims, dropped, answered)


def _same(a: Claim, b: Claim, overlap: float = 0.6) -> bool:
    """Whether claim `a` says what `b` says (mostly the same words)."""
    wa, wb = T.content_words(a.text), T.content_words(b.text)
    return len(wa & wb) >= overlap * min(len(wa), len(wb))
