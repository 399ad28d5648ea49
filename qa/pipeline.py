"""The answer pipeline, step by step: condense → retrieve → generate → check and choose → cite."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from index.types import Passage
from qa import prompts
from qa import text as T
from qa.cite import cite
from qa.judge import REFUSAL, Judge, choose, claims_of
from qa.question import parts
from qa.reading import head as reading_head
from qa.relevance import Sentences
from qa.types import Answer


@dataclass
class Round:
    """One batch of candidates written side by side, one per prompt; `questions` says what
    each answers. The prompts share their first message, made of `blocks` (qa/reading.py)."""

    questions: list[str]
    prompts: list[list[dict]]
    blocks: list[str]


@dataclass
class Evidence:
    """What the model reads for one question, and how its prompts are made."""

    passages: list[Passage]  # passage n of the prompts is passages[n - 1]
    head: list[dict]  # the fixed messages every prompt starts with
    state: str = ""  # the name the backend keeps the instructions evaluated under
    blocks: list[str] = field(default_factory=list)  # the pieces of `head` read ahead
    focus: str = ""  # sentences to read first, shown with the question
    sentences: object = None  # the passages' sentences with their vectors, if already known


class Pipeline:
    """Answers one question at a time with an LLM backend and a source of evidence."""

    def __init__(self, config, llm, evidence_for, model: str = ""):
        self.config, self.llm, self.evidence_for, self.model = config, llm, evidence_for, model

    def stream(self, question: str, history=None) -> Iterator[str | Answer]:
        """Yield the first candidate's text as it is written, then the checked `Answer`."""
        t0 = time.perf_counter()
        searched = self.condense(question, history) if history else question
        evidence = self.evidence_for(searched)
        sentences = evidence.sentences or Sentences(evidence.passages)
        judges = {searched: Judge(searched, evidence.passages, self.config.support,
                                  self.config.on_topic, sentences)}
        timings = {"retrieve_s": time.perf_counter() - t0}
        if max(judges[searched].relevance, default=0.0) < self.config.min_similarity:
            # Nothing in the articles is even about the question: refuse without the LLM.
            yield REFUSAL
            yield self._answer(question, searched, REFUSAL, [], evidence, timings, t0,
                               judges[searched].relevance)
            return
        candidates: list[tuple[str, str]] = []  # (the question it answers, the model's text)
        evidence.focus = self.focus(judges[searched], sentences)
        for round_ in self.rounds(searched, evidence):
            written = [""] * len(round_.questions)
            for i, piece in self.llm.generate(round_.prompts, fixed=1, name=evidence.state,
                                              max_tokens=self.config.max_tokens,
                                              blocks=round_.blocks,
                                              assemble=bool(self.config.assemble)):
                written[i] += piece
                if i == 0 and not candidates:
                    timings.setdefault("first_token_s", time.perf_counter() - t0)
                    yield piece
            candidates += zip(round_.questions, written)
            for q in round_.questions:
                judges.setdefault(q, Judge(q, evidence.passages, self.config.support,
                                           self.config.on_topic, sentences))
            judged = choose([(judges[q], text) for q, text in candidates])
            if judged.claims:
                break  # a second round only where the first answer does not hold up
        relevance = judges[searched].relevance
        text, citations = cite(judged.claims, evidence.passages, relevance)
        answer = self._answer(question, searched, text or REFUSAL, citations, evidence,
                              timings, t0, relevance)
        answer.notes, answer.candidates = judged.dropped, [t for _, t in candidates]
        yield answer

    def rounds(self, question: str, evidence: Evidence) -> Iterator["Round"]:
        """The candidates to write, greedily: first the question as asked and each of its
        parts, from every passage read; then, only if none of those holds up, up to
        `answers` - 1 more, each from the passages of one article alone (the best first), so
        that one article's account cannot crowd out another's."""
        asked = [question] + parts(question)
        turns = [self._turn(q, evidence) for q in asked]
        yield Round(asked, [evidence.head + [t] for t in turns], evidence.blocks)
        articles: dict[str, list[int]] = {}
        for n, p in enumerate(evidence.passages, start=1):
            articles.setdefault(p.path, []).append(n)
        if len(articles) < 2:
            return
        for numbers in list(articles.values())[: self.config.answers - 1]:
            shown = [b for n in numbers for b in evidence.blocks[2 * n - 2: 2 * n]]
            yield Round([question], [reading_head(shown) + [turns[0]]], shown)

    def focus(self, judge: Judge, sentences) -> str:
        """The best sentence of each of the articles that match the question best, numbered by
        their passages: what to read first in a long collection."""
        k = self.config.focus
        if not k:
            return ""
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
        return "\n".join(f"[{i + 1}] {prompts.quoted(sentences.texts[i][j])}" for _, i, j in top)

    def _turn(self, question: str, evidence: Evidence) -> dict:
        if evidence.focus:
            text = prompts.FOCUSED.format(focus=evidence.focus, question=question)
        else:
            text = prompts.QUESTION.format(question=question)
        return {"role": "user", "content": text}

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
