"""The answer pipeline, step by step: condense → retrieve → generate → check and choose → cite."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from index.types import Passage
from qa import prompts
from qa import text as T
from qa.cite import cite
from qa.quote import locate
from qa import decide
from qa.judge import REFUSAL, Judge, choose, claims_of
from qa.question import parts
from qa import disagree, reading, when
from qa.relevance import Sentences
from qa.types import Answer


@dataclass
class Round:
    """One batch of candidates written side by side, one per prompt; `questions` says what
    each answers. The prompts share their first message, made of `blocks` (qa/reading.py)."""

    questions: list[str]
    prompts: list[list[dict]]  # one per question, then the quote's where `quote`
    blocks: list[str]
    quote: bool = False  # the last prompt asks for the words that answer, copied
    temperatures: list[float] = field(default_factory=list)  # 0: greedy


@dataclass
class Evidence:
    """What the model reads for one question, and how its prompts are made."""

    passages: list[Passage]  # passage n of the prompts is passages[n - 1]
    head: list[dict]  # the fixed messages every prompt starts with
    state: str = ""  # the name the backend keeps the instructions evaluated under
    blocks: list[str] = field(default_factory=list)  # the pieces of `head` read ahead
    focus: list = field(default_factory=list)  # (n, sentence): read again with the question
    sentences: object = None  # the passages' sentences with their vectors, if already known


SAMPLED = 0.7  # the temperature of the sampled answers


class Pipeline:
    """Answers one question at a time with an LLM backend and a source of evidence."""

    def __init__(self, config, llm, evidence_for, model: str = "", decision=None):
        self.config, self.llm, self.evidence_for, self.model = config, llm, evidence_for, model
        self.decision = decision or decide.load(config.decision)

    def stream(self, question: str, history=None) -> Iterator[str | Answer]:
        """Yield the first candidate's text as it is written, then the checked `Answer`."""
        t0 = time.perf_counter()
        searched = self.condense(question, history) if history else question
        evidence = self.evidence_for(searched)
        sentences = evidence.sentences or Sentences(evidence.passages)
        judges = {searched: Judge(searched, evidence.passages, sentences=sentences)}
        timings = {"retrieve_s": time.perf_counter() - t0}
        if max(judges[searched].relevance, default=0.0) < self.config.min_similarity:
            # Nothing in the articles is even about the question: refuse without the LLM.
            yield REFUSAL
            yield self._answer(question, searched, REFUSAL, [], evidence, timings, t0,
                               judges[searched].relevance)
            return
        t1 = time.perf_counter()
        differ = (disagree.find(searched, evidence.passages, sentences,
                                judges[searched].topicality) if self.config.disagreements else [])
        timings["differ_s"] = time.perf_counter() - t1  # the cost to every question
        if differ:
            # The reports give different values for what is asked: each is stated with its
            # source instead of letting the model pick one (no model call is needed).
            text, citations, accounts = disagree.state(differ, evidence.passages,
                                                       disagree.asked(searched))
            text = when.annotate(text, citations, evidence.passages)
            yield text
            answer = self._answer(question, searched, text, citations, evidence, timings, t0,
                                  judges[searched].relevance)
            answer.disagreements = accounts
            yield answer
            return
        candidates: list[tuple[str, str]] = []  # (the question it answers, the model's text)
        pieces: list[list] = []  # each candidate's pieces with their log-probabilities
        quote = None  # the model's copy of the words that answer
        evidence.focus = self.focus(judges[searched], sentences)
        for round_ in self.rounds(searched, evidence):
            written = [""] * len(round_.prompts)
            sureness = [[] for _ in round_.prompts]
            for i, piece in self.llm.generate(round_.prompts, fixed=1, name=evidence.state,
                                              max_tokens=self.config.max_tokens,
                                              blocks=round_.blocks, turn=prompts.TURN,
                                              assemble=bool(self.config.assemble),
                                              temperatures=round_.temperatures):
                written[i] += piece
                sureness[i].append([str(piece), getattr(piece, "logprob", None)])
                if i == 0 and not candidates:
                    timings.setdefault("first_token_s", time.perf_counter() - t0)
                    yield piece
            if round_.quote:
                quote = written.pop()
                sureness.pop()
            candidates += zip(round_.questions, written)
            pieces += sureness
            for q in round_.questions:
                judges.setdefault(q, Judge(q, evidence.passages, sentences=sentences))
            if self.decision is None:  # today's checks
                judged = choose([(judges[q], text) for q, text in candidates])
            else:
                judged = decide.choose([(judges[q], text, sure, q != searched) for (q, text), sure
                                        in zip(candidates, pieces)], self.decision, quote)
            if judged.claims:
                break  # a second round only where the first answer does not hold up
        relevance = judges[searched].relevance
        text, citations = cite(judged.claims, evidence.passages, relevance,
                               locate(quote, evidence.passages) if quote else None)
        if citations:
            text = " ".join([text, *self.unanswered(searched, judged.answered)])
            text = when.annotate(text, citations, evidence.passages)
        answer = self._answer(question, searched, text or REFUSAL, citations, evidence,
                              timings, t0, relevance)
        answer.notes, answer.candidates = judged.dropped, [t for _, t in candidates]
        answer.pieces, answer.quote = pieces, quote
        yield answer

    @staticmethod
    def unanswered(question: str, answered: set) -> list[str]:
        """What to say of each part of a several-part question when neither the question's
        own candidate nor the part's left anything standing (where the question's did, it may
        well have answered the part)."""
        if 0 in answered:
            return []
        return [prompts.NOT_ANSWERED.format(part=part)
                for k, part in enumerate(parts(question), start=1) if k not in answered]

    def rounds(self, question: str, evidence: Evidence) -> Iterator["Round"]:
        """The candidates to write: first, side by side from every passage read, the question
        as asked and each of its parts (greedy), `samples` more answers to the question
        (sampled), and the quote; then, only if nothing holds up, up to `answers` - 1 more,
        each from the passages of one article alone (the best first), so that one article's
        account cannot crowd out another's."""
        asked = [question] + parts(question)
        samples = [question] * self.config.samples
        turns = [self._turn(q, evidence.focus) for q in asked + samples]
        # The quote is a feature of the fitted decision; today's checks do not use it.
        quote = [{"role": "user", "content": self._turn(question, evidence.focus)["content"]
                  + prompts.QUOTE.removeprefix(prompts.QUESTION)}
                 ] if self.decision is not None else []
        yield Round(asked + samples, [evidence.head + [t] for t in turns + quote],
                    evidence.blocks, bool(quote), [0.0] * len(asked) + [SAMPLED] * len(samples))
        articles: dict[str, list[int]] = {}
        for n, p in enumerate(evidence.passages, start=1):
            articles.setdefault(p.path, []).append(n)
        if len(articles) < 2:
            return
        for numbers in list(articles.values())[: self.config.answers - 1]:
            shown = [b for n in numbers for b in evidence.blocks[2 * n - 2: 2 * n]]
            yield Round([question], [reading.head(shown) + [turns[0]]], shown)

    def focus(self, judge: Judge, sentences) -> list[tuple[int, str]]:
        """The best sentence of each of the articles that match the question best, with the
        number of its passage: shown again right before the question."""
        k = self.config.focus
        if not k:
            return []
        best = {}
        for i, sims in enumerate(judge._topicality):
            p = judge.passages[i]
            # The headline is shown with every passage already, and a question's words match
            # it best: pointing at it again makes the model restate it ("The open ended.").
            told = [j for j, text in enumerate(sentences.texts[i])
                    if T.content_words(text) != T.content_words(p.title)]
            if not told:
                continue
            j = max(told, key=lambda j: sims[j])
            if p.path not in best or sims[j] > best[p.path][0]:
                best[p.path] = (float(sims[j]), i, j)
        top = sorted(best.values(), reverse=True)[:k]
        return [(i + 1, when.dated(sentences.texts[i][j], judge.passages[i])) for _, i, j in top]

    @staticmethod
    def _turn(question: str, focus: list[tuple[int, str]] = ()) -> dict:
        """A question's own turn: the focus sentences, read live, then the question."""
        if not focus:
            return {"role": "user", "content": prompts.QUESTION.format(question=question)}
        lines = "\n".join(f"[{n}] {prompts.quoted(' '.join(text.split()))}" for n, text in focus)
        return {"role": "user", "content": prompts.FOCUSED.format(focus=lines, question=question)}

    def condense(self, question: str, history) -> str:
        """A follow-up rewritten as a standalone question, using the last few turns."""
        from qa.text import uncited

        shown = "\n".join(f"User: {q}\nAssistant: {uncited(a)}" for q, a in list(history)[-3:])
        messages = [{"role": "system", "content": prompts.CONDENSE},
                    {"role": "user", "content": prompts.CONDENSE_EXAMPLE[0]},
                    {"role": "assistant", "content": prompts.CONDENSE_EXAMPLE[1]},
                    {"role": "user", "content": prompts.CONDENSE_USER.format(
                        history=shown, question=question)}]
        out = "".join(p for _, p in self.llm.generate([messages], max_tokens=80)).strip()
        rewritten = (out.splitlines() or [""])[0].strip()
        # A rewrite that is not a question (the model answered instead) or rambles is worse
        # than the question as asked.
        if not rewritten.endswith("?") or len(rewritten) > 3 * len(question) + 200:
            return question
        return rewritten

    def _answer(self, question, searched, text, citations, evidence, timings, t0,
                relevance) -> Answer:
        timings.setdefault("first_token_s", time.perf_counter() - t0)
        timings["total_s"] = time.perf_counter() - t0
        # What the model read, the passages most similar to the question first.
        read = [p for _, p in sorted(zip(relevance, evidence.passages), key=lambda x: -x[0])]
        return Answer(question=question, text=text, abstained=not citations,
                      citations=citations, model=self.model, passages=read,
                      searched=searched, timings={k: round(v, 3) for k, v in timings.items()})


__all__ = ["Pipeline", "Evidence", "claims_of"]
