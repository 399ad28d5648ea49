"""`qa fit RUN ...`: the decision of qa/decide.py fitted on the stored candidates of `qa eval`
runs, one run a question set; each set scored with a decision fitted without it.

Every option of every candidate sentence is labelled from its question's required facts: it
states one of them, and its passage holds that fact. A logistic model (scikit-learn) is fitted
on the options of the sets given; its threshold is the one that answers the most questions of
those sets rightly (answered, or rightly refused) with citation precision of at least 90%.
Nothing here calls the LLM: the evidence is found again as in the run (retrieval is
deterministic), and the stored candidates are judged afresh.
"""
from __future__ import annotations

import json
import statistics
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from eval import dataset
from eval.dataset import DECISIONS, set_name
from eval.score import CAUSES, facts_in, score
from qa.cite import cite
from qa.config import Config
from qa.decide import DEFAULT, FEATURES, Decision, Option, assemble, options
from qa.judge import REFUSAL, Judge, choose, is_refusal
from qa.question import parts
from qa.types import Answer

ROOT = Path(__file__).resolve().parent.parent
PRECISION = 0.90


@dataclass
class Item:
    """One question of a set, ready to be decided and scored."""

    question: dataset.Question
    options: list[list[Option]]  # per candidate
    labels: list[list[int]]
    refused: list[bool]
    passages: list
    relevance: list[float]
    candidates: list[str]
    judges: list  # per candidate, for today's checks
    greedy: int = 1  # the question's and its parts' candidates come first; then samples


def load_run(run_dir: str | Path, assistant=None) -> tuple[str, list[Item]]:
    """A run's questions with the options of their stored candidates, labelled; `assistant`
    (tests) replaces the one the run's settings open."""
    from qa.assistant import Assistant

    run_dir = Path(run_dir)
    info = json.loads((run_dir / "summary.json").read_text())["run"]
    kept = ("data_dir", "chroma_url", "collection", "top_k", "retrieve_candidates", "focus",
            "chunk_size")
    assistant = assistant or Assistant(Config.load(
        **{k: str(v) for k, v in info["config"].items() if k in kept and v}))
    questions = {q.id: q for q in dataset.load(ROOT / info["qa_file"]
                                                if not Path(info["qa_file"]).is_absolute()
                                                else info["qa_file"])}
    items = []
    for r in (json.loads(line) for line in (run_dir / "results.jsonl").open()):
        if r["system"] != "assistant":
            continue
        ev = assistant.evidence(r["question"])
        texts = r.get("candidates") or []
        split = parts(r["question"])
        # The question as asked, its parts, then answers to it sampled (qa/pipeline.py).
        asked = ([r["question"]] + split + [r["question"]] * len(texts))[: len(texts)]
        judges = [Judge(x, ev.passages, sentences=ev.sentences) for x in asked]
        pieces = r.get("pieces") or [None] * len(texts)
        opts = [options(j, t, p, part=0 < k <= len(split), quote=r.get("quote"))
                for k, (j, t, p) in enumerate(zip(judges, texts, pieces))]
        q = questions[r["id"]]
        items.append(Item(q, opts, [[label(o, j, q) for o in os] for j, os in zip(judges, opts)],
                          [is_refusal(t) for t in texts], ev.passages,
                          judges[0].relevance if judges else [], texts, judges, 1 + len(split)))
    return set_name(info["qa_file"]), items


def label(option: Option, judge: Judge, q: dataset.Question) -> int:
    """1 when the option states a required fact that its passage holds."""
    if not q.answerable:
        return 0
    held = judge.evidence[option.claim.passage].all
    return int(any(facts_in([f], held) for f in facts_in(q.must_include, option.claim.text)))


def matrix(items: list[Item], names: list[str]):
    import numpy as np

    rows = [[o.features[n] for n in names] for it in items for os in it.options for o in os]
    labels = [y for it in items for ys in it.labels for y in ys]
    return np.asarray(rows, dtype=float).reshape(-1, len(names)), np.asarray(labels)


def fit(items: list[Item], names: list[str] = FEATURES, fitted_on=()) -> Decision:
    """A logistic model on the items' options, and its threshold (see the module's doc)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x, y = matrix(items, names)
    with warnings.catch_warnings():  # a feature never known (a hosted LLM's certainty)
        warnings.simplefilter("ignore", RuntimeWarning)
        means, scales = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
    means = np.nan_to_num(means)
    scales = np.where(np.isnan(scales) | (scales == 0), 1.0, scales)
    z = np.nan_to_num((x - means) / scales)  # an unknown value weighs as the average one
    model = LogisticRegression(max_iter=2000).fit(z, y)
    decision = Decision({n: round(float(w), 5) for n, w in zip(names, model.coef_[0])},
                        float(model.intercept_[0]),
                        {n: float(m) for n, m in zip(names, means)},
                        {n: float(s) for n, s in zip(names, scales)}, 0.5, list(fitted_on))
    decision.threshold = threshold(items, decision)
    return decision


def threshold(items: list[Item], decision: Decision) -> float:
    """The threshold with the most questions right and citation precision >= 90% on `items`
    (the most precise one if none reaches it)."""
    best = None
    for t in [i / 40 for i in range(2, 39)]:
        f = figures(items, replace(decision, threshold=t))
        key = (f["precision"] >= PRECISION, f["right"] + f["refused"], f["precision"])
        if best is None or key > best[0]:
            best = (key, t)
    return best[1]


def answer_of(item: Item, decision: Decision | None, greedy: bool = False) -> Answer:
    """The item's answer under a decision (from its greedy candidates only, with `greedy`),
    or under today's checks (which see only those) where it is None."""
    if decision is None:
        judged = choose([(j, t) for j, t in zip(item.judges, item.candidates)][: item.greedy])
    else:
        n = item.greedy if greedy else len(item.options)
        judged = assemble(item.options[:n], decision, refused=item.refused[:n])
    text, citations = cite(judged.claims, item.passages, item.relevance)
    return Answer(question=item.question.question, text=text or REFUSAL,
                  abstained=not citations, citations=citations, passages=item.passages,
                  candidates=item.candidates)


def figures(items: list[Item], decision: Decision | None, greedy: bool = False) -> dict:
    ms = [(it.question, score(it.question, answer_of(it, decision, greedy))) for it in items]
    ans = [m for q, m in ms if q.answerable]
    una = [m for q, m in ms if not q.answerable]
    precision = [m["citation_precision"] for m in ans if m["citation_precision"] is not None]
    multi = [m["correct"] for m in ans if m["multipart"]]
    return {"right": sum(m["correct"] for m in ans), "answerable": len(ans),
            "refused": sum(m["refused"] for m in una), "unanswerable": len(una),
            "wrongly_refused": sum(m["wrongly_refused"] for m in ans),
            "precision": statistics.mean(precision) if precision else 0.0,
            "multipart": f"{sum(multi)}/{len(multi)}",
            **{c: sum(m["miss"] == c for m in ans) for c in CAUSES}}


def leave_one_out(sets: dict[str, list[Item]], names: list[str] = FEATURES) -> dict:
    """Each set's figures under a decision fitted on the other sets."""
    out = {}
    for held in sets:
        rest = [it for name, items in sets.items() if name != held for it in items]
        decision = fit(rest, names, [n for n in sets if n != held])
        out[held] = (decision, figures(sets[held], decision))
    return out


def run(config, run_dirs: list[str], write: bool = True, assistant=None) -> int:
    sets = dict(load_run(d, assistant) for d in run_dirs)
    print(table({name: figures(items, None) for name, items in sets.items()},
                "today's checks, on the same candidates"))
    held = leave_one_out(sets)
    print(table({n: f for n, (_, f) in held.items()}, "the decision, each set held out"))
    print(table({n: figures(sets[n], d, greedy=True) for n, (d, _) in held.items()},
                "the same decisions, the greedy candidates only (no samples)"))
    final = fit([it for items in sets.values() for it in items], FEATURES, list(sets))
    print(f"\nfitted on all: threshold {final.threshold:.3f}; weights " + ", ".join(
        f"{n} {w:+.2f}" for n, w in sorted(final.weights.items(), key=lambda x: -abs(x[1]))))
    if write:
        DECISIONS.mkdir(parents=True, exist_ok=True)
        for name, (decision, _) in held.items():
            save(decision, DECISIONS / f"without-{name}.json")
        save(final, DEFAULT)
        print(f"wrote {DEFAULT} and {DECISIONS}/without-<set>.json")
    return 0


def save(decision: Decision, path: Path) -> None:
    path.write_text(json.dumps(decision.__dict__, indent=1) + "\n")


def table(figs: dict, title: str) -> str:
    lines = [f"\n{title}:", "| set | right | refused | wrongly refused | precision | multi-part "
             "in full | missed: retrieval / reader / decision |", "|---|---|---|---|---|---|---|"]
    for name, f in figs.items():
        lines.append(f"| {name} | {f['right']}/{f['answerable']} | {f['refused']}/"
                     f"{f['unanswerable']} | {f['wrongly_refused']} | {100 * f['precision']:.1f}%"
                     f" | {f['multipart']} | {f['retrieval']} / {f['reader']} / "
                     f"{f['decision']} |")
    return "\n".join(lines)

