"""`qa ablate RUN`: what each grounding check costs and gains, from a `qa eval` run's stored
candidates judged again with that one check switched off (no text is generated)."""
from __future__ import annotations

import json
import statistics
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from unittest import mock

from eval import dataset
from eval.score import score
from qa import grounding
from qa.cite import cite
from qa.judge import REFUSAL, Judge, choose
from qa.pipeline import Pipeline
from qa.relevance import Sentences
from qa.types import Answer

# Each check, and what stands in for it when it is off: it finds nothing wrong.
CHECKS = {
    "numbers": {"unsupported_numbers": []},
    "names": {"unsupported_names": []},
    "quotations": {"misquotations": []},
    "speakers": {"unsupported_speakers": []},
    "support": {"support": 1.0},
    "relevance": {},  # off: `on_topic` below zero
    "question's names": {"absent_names": []},
    "says more": {"adds_to_question": True},
    "header only": {"restates_header": False},
    "kind asked": {"gives_what_was_asked": True},
    "named / counted": {"names_the_thing": True, "counts_the_thing": True},
}


def run(config, run_dir: str, qa_file: str | None = None, assistant=None) -> int:
    from qa.assistant import Assistant

    rows = [json.loads(line) for line in (Path(run_dir) / "results.jsonl").open()]
    rows = [r for r in rows if r["system"] == "assistant"]
    questions = {q.id: q for q in dataset.load(qa_file)}
    # The evidence is found again as in the run (retrieval is deterministic); the LLM is
    # never asked to write.
    assistant = assistant or Assistant(config)
    config = assistant.config
    evidence = {r["id"]: assistant.evidence(r["question"]) for r in rows}
    verdicts = {"all checks": _judge_all(config, rows, questions, evidence)}
    every = {fn: value for stand_ins in CHECKS.values() for fn, value in stand_ins.items()}
    for name, stand_ins in [*CHECKS.items(), ("any check", every)]:
        off = replace(config, on_topic=-1.0) if name in ("relevance", "any check") else config
        with ExitStack() as stack:
            for fn, value in stand_ins.items():
                stack.enter_context(mock.patch.object(grounding, fn, return_value=value))
            verdicts[f"without {name}"] = _judge_all(off, rows, questions, evidence)
    print(table(verdicts))
    gated = sum(v["gated"] for v in verdicts["all checks"].values())
    print(f"\n{gated} questions were refused before the LLM (no sentence similar enough): "
          "no check is involved in those.")
    return 0


def _judge_all(config, rows, questions, evidence) -> dict:
    """Each question's verdict (right or not) and citation precision, judged afresh."""
    pipeline = Pipeline(config, None, None)
    out = {}
    for r in rows:
        q, ev = questions[r["id"]], evidence[r["id"]]
        sentences = ev.sentences or Sentences(ev.passages)
        asked = next(pipeline.rounds(r["question"], ev)).questions
        judges = {x: Judge(x, ev.passages, config.support, config.on_topic, sentences)
                  for x in asked}
        gated = not r.get("candidates")  # refused before the LLM: no check was involved
        judged = choose([(judges[x], t) for x, t in zip(asked, r.get("candidates") or [])])
        text, citations = cite(judged.claims, ev.passages, judges[r["question"]].relevance)
        answer = Answer(question=r["question"], text=text or REFUSAL, abstained=not citations,
                        citations=citations, passages=ev.passages)
        m = score(q, answer)
        out[q.id] = {"right": bool(m["correct"] if q.answerable else m["refused"]),
                     "answerable": q.answerable, "precision": m["citation_precision"],
                     "gated": gated, "refused": answer.abstained}
    return out


def table(verdicts: dict) -> str:
    base = verdicts["all checks"]
    lines = ["| checks | answerable right | unanswerable refused | wrongly refused | citation "
             "precision | the check gains (wrong → right with it) | costs (right → wrong) |",
             "|---|---|---|---|---|---|---|"]
    for name, v in verdicts.items():
        ans = [k for k in v if v[k]["answerable"]]
        una = [k for k in v if not v[k]["answerable"]]
        prec = [v[k]["precision"] for k in ans if v[k]["precision"] is not None]
        gains = sorted(k for k in v if base[k]["right"] and not v[k]["right"])
        costs = sorted(k for k in v if v[k]["right"] and not base[k]["right"])
        lines.append(f"| {name} | {sum(v[k]['right'] for k in ans)}/{len(ans)} | "
                     f"{sum(v[k]['right'] for k in una)}/{len(una)} | "
                     f"{sum(v[k]['refused'] for k in ans)} | "
                     f"{f'{100 * statistics.mean(prec):.1f}%' if prec else '–'} | "
                     f"{len(gains) if name != 'all checks' else ''} | "
                     f"{len(costs) if name != 'all checks' else ''} |")
    return "\n".join(lines)
