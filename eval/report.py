"""Overall figures per system, report.md, summary.json and the plots of a run."""
from __future__ import annotations

import json
from pathlib import Path

from eval import timeline
from eval.score import CAUSES, CITE, normalize

# (key in the figures, label, unit, count shown beside it as "(count/of)" or "(n=count)").
HEADLINE = [
    ("accuracy", "Accuracy, all questions (correct or rightly refused)", "%",
     ("passed", "questions")),
    ("correct_rate", "Correct, answerable", "%", ("correct", "answerable")),
    ("f1", "Token F1 vs reference, answerable", "", None),
    ("refused_rate", "Refused, unanswerable", "%", ("refused", "unanswerable")),
    ("wrongly_refused_rate", "Wrongly refused, answerable (lower is better)", "%",
     ("wrongly_refused", "answerable")),
    ("citation_precision", "Citation precision (macro)", "%", ("citation_precision_n", None)),
    ("citation_recall", "Citation recall (macro)", "%", ("citation_recall_n", None)),
    ("multipart_rate", "Multi-part questions answered in full", "%", ("multipart_full", "multipart")),
    ("values_rate", "Every differing value cited", "%", ("all_values", "disagreements")),
    ("false_flags", "Disagreement flagged where the question has none", "n", None),
    ("dates_rate", "When: the absolute date given", "%", ("date_right", "whens")),
    ("miss_retrieval", "Missed: a fact not among the passages read", "n", None),
    ("miss_reader", "Missed: read, but not in the model's text", "n", None),
    ("miss_decision", "Missed: in the model's text, cut by the checks", "n", None),
    ("hit_at_k", "hit@k", "%", None),
    ("answer_hit_at_k", "Answer-bearing hit@k", "%", None),
    ("mrr", "MRR", "", None),
    ("answer_words_median", "Answer length in words, median (answered)", "", None),
    ("first_token_median_s", "First token, median", "s", None),
    ("first_token_p95_s", "First token, p95", "s", None),
    ("total_median_s", "Total, median", "s", None),
    ("total_p95_s", "Total, p95", "s", None),
    ("cpu_median_s", "CPU time per question, median", "s", None),
]
# The plot's bars and their short labels.
PLOTTED = {"accuracy": "Accuracy", "correct_rate": "Correct", "f1": "Token F1",
           "refused_rate": "Refused\n(unanswerable)",
           "wrongly_refused_rate": "Wrongly\nrefused (↓)",
           "citation_precision": "Citation\nprecision", "citation_recall": "Citation\nrecall",
           "hit_at_k": "hit@k", "answer_hit_at_k": "Answer-bearing\nhit@k", "mrr": "MRR"}


def summarize(rows: list[dict], run_info: dict) -> dict:
    """summary.json: the run's setup, the figures per system and their differences."""
    names = list(dict.fromkeys(r["system"] for r in rows))
    systems = {n: figures([r for r in rows if r["system"] == n]) for n in names}
    summary = {"run": run_info, "systems": systems}
    if len(names) == 2:
        a, b = (systems[n] for n in names)
        summary["difference"] = {key: _minus(a[key], b[key]) for key, *_ in HEADLINE}
    return summary


def figures(rows: list[dict]) -> dict:
    """Overall figures of one system; rates are None when nothing was there to count."""
    ans = [r["metrics"] for r in rows if r["answerable"]]
    unans = [r["metrics"] for r in rows if not r["answerable"]]
    precision = [m["citation_precision"] for m in ans if m["citation_precision"] is not None]
    recall = [m["citation_recall"] for m in ans if m["citation_recall"] is not None]
    first = [r["timings"]["first_token_s"] for r in rows]
    total = [r["timings"]["total_s"] for r in rows]
    cpu = [r["timings"]["cpu_s"] for r in rows if "cpu_s" in r["timings"]]
    load = [r["load_1m"] for r in rows if "load_1m" in r]
    words = [len(CITE.sub("", r["answer"]).split()) for r in rows
             if not r["metrics"]["abstained"]]
    return {
        "model": rows[0]["model"] if rows else "",
        "k": max((len(r["passages"]) for r in rows), default=0),  # most passages shown
        "questions": len(rows), "answerable": len(ans), "unanswerable": len(unans),
        "passed": sum(r["metrics"]["passed"] for r in rows),
        "accuracy": _mean([r["metrics"]["passed"] for r in rows]),
        "correct": sum(m["correct"] for m in ans),
        "correct_rate": _mean([m["correct"] for m in ans]),
        "f1": _mean([m["f1"] for m in ans]),
        "refused": sum(m["refused"] for m in unans),
        "refused_rate": _mean([m["refused"] for m in unans]),
        "wrongly_refused": sum(m["wrongly_refused"] for m in ans),
        "wrongly_refused_rate": _mean([m["wrongly_refused"] for m in ans]),
        "citation_precision": _mean(precision), "citation_precision_n": len(precision),
        "citation_recall": _mean(recall), "citation_recall_n": len(recall),
        "multipart": sum(bool(m.get("multipart")) for m in ans),
        "multipart_full": sum(bool(m.get("multipart")) and m["correct"] for m in ans),
        "multipart_rate": _mean([m["correct"] for m in ans if m.get("multipart")]),
        **{f"miss_{c}": sum(m.get("miss") == c for m in ans) for c in CAUSES},
        "disagreements": sum(m.get("all_values") is not None for m in ans),
        "all_values": sum(bool(m.get("all_values")) for m in ans),
        "values_rate": _mean([m["all_values"] for m in ans if m.get("all_values") is not None]),
        "false_flags": sum(bool(m.get("flagged")) and m.get("all_values") is None for m in ans + unans),
        "whens": sum(m.get("date_right") is not None for m in ans),
        "date_right": sum(bool(m.get("date_right")) for m in ans),
        "dates_rate": _mean([m["date_right"] for m in ans if m.get("date_right") is not None]),
        "hit_at_k": _mean([m["hit"] for m in ans]),
        "answer_hit_at_k": _mean([m["answer_hit"] for m in ans]),
        "mrr": _mean([m["rr"] for m in ans]),
        "answer_words_median": _percentile(words, 50),
        "first_token_median_s": _percentile(first, 50), "first_token_p95_s": _percentile(first, 95),
        "total_median_s": _percentile(total, 50), "total_p95_s": _percentile(total, 95),
        "cpu_median_s": _percentile(cpu, 50), "load_1m_mean": _mean(load),
    }


def table(summary: dict) -> str:
    """The headline figures as a Markdown table, systems side by side with the difference."""
    systems = summary["systems"]
    names = list(systems)
    head = ["Metric", *(f"{n} (≤{systems[n]['k']} passages)" for n in names)]
    if "difference" in summary:
        head.append(f"Δ {names[0]} − {names[1]}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label, unit, count in HEADLINE:
        cells = [label] + [_cell(systems[n], key, unit, count) for n in names]
        if "difference" in summary:
            cells.append(_delta(summary["difference"][key], unit))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(out: Path, summary: dict, rows: list[dict]) -> None:
    """summary.json, report.md, metrics.png and latency.png in `out`."""
    out = Path(out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    plot_metrics(summary, out / "metrics.png")
    plot_latency(rows, out / "latency.png")
    (out / "report.md").write_text(markdown(summary, rows), encoding="utf-8")


def markdown(summary: dict, rows: list[dict]) -> str:
    run = summary["run"]
    names = list(summary["systems"])
    first = summary["systems"][names[0]]
    git = run.get("git") or {}
    m = run["machine"]
    parts = [
        f"# Evaluation, {run['date']}",
        f"{first['questions']} questions from `{run['qa_file']}` ({first['answerable']} "
        f"answerable, {first['unanswerable']} unanswerable); model `{run['model']}`; "
        f"{run['passages_indexed']} passages indexed; {m['usable_cores']} of {m['cores']} cores "
        f"({m['cpu']}); commit `{git.get('commit', 'unknown')}`"
        + (" with uncommitted changes" if git.get("dirty") else "") + ".",
        "## Headline",
        table(summary),
        *(["## Timelines", timeline.markdown(summary["timeline"])] if "timeline" in summary else []),
        "k is the number of passages each system hands its LLM (the baseline keeps llama-index's "
        "default). Latency is measured by the harness from the question to the first streamed "
        "text and to the final answer; each system answers all questions in turn, so compare "
        "wall-clock figures only if the machine was about as busy for both: "
        + _load_line(summary["systems"], m["usable_cores"])
        + " CPU time counts this process's work alone. Definitions: eval/README.md.",
        "![metrics per system](metrics.png)\n\n![latency per system](latency.png)",
        "## Per question",
        _per_question(rows, names),
    ]
    for name in names:
        failed = [r for r in rows if r["system"] == name and not r["metrics"]["passed"]]
        total = sum(r["system"] == name for r in rows)
        parts.append(f"## Failures: {name} ({len(failed)} of {total})")
        parts.append("\n".join(_failure(r) for r in failed) or "None.")
    return "\n\n".join(parts) + "\n"


def _load_line(systems: dict, cores: int) -> str:
    loads = [f"{n} {f['load_1m_mean']:.1f}" for n, f in systems.items()
             if f.get("load_1m_mean") is not None]
    if not loads:
        return "the load was not recorded."
    return f"mean 1-minute load average {', '.join(loads)} on {cores} cores."


def _per_question(rows: list[dict], names: list[str]) -> str:
    by = {(r["system"], r["id"]): r for r in rows}
    ids = list(dict.fromkeys(r["id"] for r in rows))
    lines = ["| id | answerable | " + " | ".join(names) + " |", "|" + "---|" * (2 + len(names))]
    for qid in ids:
        cells = [_verdict(by[(n, qid)]) if (n, qid) in by else "" for n in names]
        answerable = next(by[(n, qid)]["answerable"] for n in names if (n, qid) in by)
        lines.append(f"| {qid} | {'yes' if answerable else 'no'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _verdict(row: dict) -> str:
    m = row["metrics"]
    if not row["answerable"]:
        return "✓ refused" if m["refused"] else "✗ answered"
    if m["abstained"]:
        return "✗ refused"
    return "✓" if m["correct"] else f"✗ missing {_facts(m['missing'])}"


def _failure(row: dict) -> str:
    m = row["metrics"]
    if row["answerable"]:
        expected = f"{row['expected']} (must include: {_facts(row['must_include'])})"
        why = "wrongly refused" if m["abstained"] else f"missing: {_facts(m['missing'])}"
    else:
        expected, why = f"a refusal ({row['expected']})", "answered an unanswerable question"
    lines = [f"- **{row['id']}** {row['question']}", f"  - expected: {expected}",
             f"  - got: {_oneline(row['answer'])}"]
    streamed = row.get("streamed", "")
    if streamed and normalize(streamed) != normalize(row["answer"]):  # not just renumbered
        lines.append(f"  - streamed, before the checks: {_oneline(streamed)}")
    return "\n".join(lines + [f"  - why: {why}"])


def plot_metrics(summary: dict, path: Path) -> None:
    """Grouped bars: each metric, one bar per system."""
    fig, ax = _figure(11, 4.5)
    names = list(summary["systems"])
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [_or_nan(summary["systems"][name][key]) for key in PLOTTED]  # n/a: no bar
        xs = [x + (i - (len(names) - 1) / 2) * width for x in range(len(PLOTTED))]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, [f"{v:.2f}" if v == v else "n/a" for v in values], fontsize=7)
    ax.set_xticks(range(len(PLOTTED)))
    ax.set_xticklabels(PLOTTED.values(), fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("share (F1 and MRR: score)")
    ax.set_title("Metrics per system")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_latency(rows: list[dict], path: Path) -> None:
    """Box plots of first-token and total seconds per system."""
    fig, axes = _figure(9, 4, columns=2)
    names = list(dict.fromkeys(r["system"] for r in rows))
    for ax, key, title in zip(axes, ["first_token_s", "total_s"], ["First token", "Total"]):
        data = [[r["timings"][key] for r in rows if r["system"] == n] for n in names]
        ax.boxplot(data, tick_labels=names, showmeans=True)
        ax.set_title(f"{title} (s)")
        ax.set_ylim(bottom=0)
    fig.suptitle("Latency per question")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _figure(width: float, height: float, columns: int = 1):
    # The Agg canvas directly: no pyplot, no global backend that a UI in the same process uses.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, columns)
    return fig, axes


def _or_nan(value) -> float:
    return float("nan") if value is None else value


def _cell(figs: dict, key: str, unit: str, count) -> str:
    value = figs[key]
    if value is None:
        return "n/a"
    if unit == "n":
        return str(value)
    text = f"{value:.1%}" if unit == "%" else f"{value:.2f}" + (" s" if unit == "s" else "")
    if count:
        done, of = count
        text += f" ({figs[done]}/{figs[of]})" if of else f" (n={figs[done]})"
    return text


def _delta(value, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value * 100:+.1f} pp"
    if unit == "n":
        return f"{value:+.0f}"
    return f"{value:+.2f}" + (" s" if unit == "s" else "")


def _minus(a, b):
    return None if a is None or b is None else round(a - b, 4)


def _mean(values: list) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    import numpy as np

    return round(float(np.percentile(values, q)), 3) if values else None


def _facts(facts: list[str]) -> str:
    # "a|b" would split a Markdown table cell.
    return "; ".join(" or ".join(f.split("|")) for f in facts)


def _oneline(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
