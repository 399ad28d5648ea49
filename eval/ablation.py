"""`qa ablate RUN ...`: each feature of the decision (qa/decide.py), its weight when fitted on
every set, and what leaving it out costs each set held out (eval/fit.py), on the runs' stored
candidates: no text is generated."""
from __future__ import annotations

from eval.fit import fit, leave_one_out, load_run
from qa.decide import FEATURES


def run(config, run_dirs: list[str], assistant=None) -> int:
    sets = dict(load_run(d, assistant) for d in run_dirs)
    weights = fit([it for items in sets.values() for it in items]).weights
    rows = {"all features": _totals(leave_one_out(sets))}
    for name in FEATURES:
        rows[f"without {name}"] = _totals(leave_one_out(sets, [f for f in FEATURES if f != name]))
    print(table(rows, weights, list(sets)))
    return 0


def _totals(held: dict) -> dict:
    figs = [f for _, f in held.values()]
    return {"right": sum(f["right"] for f in figs), "answerable": sum(f["answerable"] for f in figs),
            "refused": sum(f["refused"] for f in figs),
            "unanswerable": sum(f["unanswerable"] for f in figs),
            "wrongly_refused": sum(f["wrongly_refused"] for f in figs),
            "precision": sum(f["precision"] for f in figs) / len(figs)}


def table(rows: dict, weights: dict, sets: list[str]) -> str:
    base = rows["all features"]
    lines = [f"Each set scored with a decision fitted without it ({', '.join(sets)}), summed:",
             "| features | weight (all sets) | answerable right | unanswerable refused | "
             "wrongly refused | citation precision (mean of sets) | its gain: right, refused |",
             "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        feature = name.removeprefix("without ")
        gain = "" if name == "all features" else (
            f"{base['right'] - r['right']:+d}, {base['refused'] - r['refused']:+d}")
        lines.append(f"| {name} | {weights.get(feature, 0):+.2f} | {r['right']}/{r['answerable']}"
                     f" | {r['refused']}/{r['unanswerable']} | {r['wrongly_refused']} | "
                     f"{100 * r['precision']:.1f}% | {gain} |")
    return "\n".join(lines)
