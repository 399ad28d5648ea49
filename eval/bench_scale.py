"""`qa bench --scale`: the same questions at growing collection sizes, real news added around the
articles they are about; each time beside a floor measured in the same run.

The filler is the Lee corpus of 300 short news reports (ABC, Australia) that gensim's wheel
carries as test data: real text, fetched from PyPI by pip at bench time, never committed.
"""
from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

from eval import dataset
from eval.bench_process import bench_process
from eval.run import timed
from eval.score import score
from qa.config import Config

ROOT = Path(__file__).resolve().parent.parent
SETS = [(ROOT / "seeds", ROOT / "eval" / "qa.jsonl"),
        (ROOT / "eval" / "other" / "articles", ROOT / "eval" / "other" / "qa.jsonl")]
GENSIM = "gensim==4.4.0"
LEE = "gensim/test/test_data/lee_background.cor"


def lee_articles(tmp: Path) -> list[str]:
    """The Lee corpus's 300 news reports, one a line, from gensim's wheel (pip download)."""
    wheels = tmp / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                        str(wheels), GENSIM], capture_output=True, text=True)
    found = sorted(wheels.glob("gensim-*.whl"))
    if r.returncode or not found:
        raise RuntimeError(f"pip could not fetch {GENSIM}: {r.stderr.strip()[-300:]}")
    with zipfile.ZipFile(found[0]) as z:
        text = z.read(LEE).decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def floor_rates(llm) -> dict:
    """Tokens a second for writing with nothing else read: what an answer's words would cost
    if the passages cost nothing."""
    prompt = [{"role": "user", "content": "Summarise this in one line. " + " ".join(
        f"Item {i} is on the list." for i in range(30))}]
    t0, first, pieces = time.perf_counter(), None, 0
    for _, piece in llm.generate([prompt], max_tokens=48):
        first = first or time.perf_counter() - t0
        pieces += 1
    total = time.perf_counter() - t0
    return {"decode_tokens_per_s": round(max(1, pieces - 1) / max(1e-6, total - first), 2)}


def floor_first(llm, question: str) -> float:
    """The question's own turn read with nothing else in context, and one token written: what
    its first token would cost if the passages cost nothing (measured, not estimated)."""
    turn = [{"role": "user", "content": f"Question: {question}"}]
    t0 = time.perf_counter()
    for _ in llm.generate([turn], max_tokens=1):
        pass
    return time.perf_counter() - t0


def run_scale(config: Config, tmp: Path, sizes=(10, 100, 300), per_set: int = 10,
              full: int = 5) -> dict:
    """Index the sets' articles plus Lee reports up to each size (incrementally, one data
    dir), answer `per_set` questions of each set at each size; at the largest size also the
    first `full` questions with the passages evaluated in full, and one article added."""
    from qa.assistant import Assistant

    lee = lee_articles(tmp)
    folder = tmp / "lee"
    folder.mkdir(parents=True, exist_ok=True)
    questions = [q for _, qa in SETS for q in dataset.load(qa, limit=per_set)]
    own = len({f for articles, _ in SETS for f in articles.iterdir()})
    a = Assistant(replace(config, data_dir=tmp / "scale"), require_index=False)
    out = {"rates": floor_rates(a.llm), "sizes": []}
    for size in sizes:
        for i in range(max(0, size - own)):
            path = folder / f"lee_{i:03d}.txt"
            if not path.exists():
                path.write_text(lee[i] + "\n")
        t0 = time.perf_counter()
        report = a.index([articles for articles, _ in SETS] + [folder])
        index_s = time.perf_counter() - t0
        read = a.reading_info
        a.warm()
        out["sizes"].append({
            "articles": len(a.articles()), "passages": a.store.count(),
            "index_s": round(index_s, 1), "passages_added": report.added,
            "tokens_read": read.get("tokens", 0), "read_s": round(read.get("seconds", 0), 1),
            "read_s_per_1000_tokens": round(1000 * read.get("seconds", 0)
                                            / max(1, read.get("tokens", 0)), 2),
            "store_mb": round(a.llm.store.size_mb(), 1),
            **answer_all(a, questions, out["rates"]),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)})
        print(f"bench --scale: {out['sizes'][-1]}", file=sys.stderr, flush=True)
    evaluated = Assistant(replace(a.config, assemble=0), language_model=a.llm)
    out["full"] = {"questions": full, **{k: v for k, v in answer_all(
        evaluated, questions[:full], out["rates"]).items() if k != "per_question"}}
    out["placed_same_questions"] = _medians(out["sizes"][-1]["per_question"][:full])
    out["one_shot"] = bench_process(a.config, [q.question for q in questions[:3]])
    out["add_one"] = add_one(a, config, tmp, lee[-1])
    return out


def answer_all(a, questions, rates) -> dict:
    rows = []
    for q in questions:
        answer, t, _ = timed(a.stream, q.question)
        m = score(q, answer)
        written = a.llm.count_tokens(answer.candidates[0]) if answer.candidates else 0
        first = floor_first(a.llm, q.question)
        rows.append({"id": q.id, "answerable": q.answerable, "right": bool(
            m["correct"] if q.answerable else m["refused"]), "refused": answer.abstained,
            "first_token_s": t["first_token_s"], "total_s": t["total_s"],
            "floor_first_token_s": round(first, 3),
            "floor_total_s": round(first + written / rates["decode_tokens_per_s"], 3)})
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    return {"right": f"{sum(r['right'] for r in ans)}/{len(ans)}",
            "refused": f"{sum(r['right'] for r in una)}/{len(una)}",
            "wrongly_refused": sum(r["refused"] for r in ans),
            **_medians(rows), "per_question": rows}


def _medians(rows) -> dict:
    def p(key, q):
        v = sorted(r[key] for r in rows)
        return round(v[min(len(v) - 1, int(q * len(v)))], 2) if q else round(
            statistics.median(v), 2)

    return {k: {"median": p(k, 0), "p90": p(k, 0.9)} for k in (
        "first_token_s", "total_s", "floor_first_token_s", "floor_total_s")}


def add_one(a, config: Config, tmp: Path, text: str) -> dict:
    """Seconds to index one article into the largest collection, and into an empty one."""
    from qa.assistant import Assistant

    extra = tmp / "one"
    extra.mkdir(exist_ok=True)
    (extra / "added.txt").write_text(text + " (added)\n")
    alone = Assistant(replace(config, data_dir=tmp / "alone"), require_index=False)
    t0 = time.perf_counter()
    alone.index([extra])  # its own store: nothing read before
    alone_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    a.index([extra], prune=False)
    into_large = time.perf_counter() - t0
    return {"into_largest_s": round(into_large, 2), "alone_s": round(alone_s, 2),
            "ratio": round(into_large / alone_s, 2)}


def markdown(r: dict) -> str:
    rates = r["rates"]
    lines = [f"Floor, same run: each question's own turn read alone and one token written "
             f"(first token), then its answer's tokens at {rates['decode_tokens_per_s']} tokens/s "
             "written with nothing else read (answer).", "",
             "| articles | passages | right | unanswerable refused | first token (median / p90) "
             "| floor | answer (median / p90) | floor | read per 1,000 tokens | store |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in r["sizes"]:
        f, t = s["first_token_s"], s["total_s"]
        lines.append(
            f"| {s['articles']} | {s['passages']} | {s['right']} | {s['refused']} | "
            f"{f['median']} / {f['p90']} s | {s['floor_first_token_s']['median']} s | "
            f"{t['median']} / {t['p90']} s | {s['floor_total_s']['median']} s | "
            f"{s['read_s_per_1000_tokens']} s | {s['store_mb']} MB |")
    full, placed, one, shot = (r["full"], r["placed_same_questions"], r["add_one"],
                               r["one_shot"])
    lines += ["", f"Largest size, first {full['questions']} questions: placed readings "
              f"{placed['first_token_s']['median']} s to the first token against "
              f"{full['first_token_s']['median']} s with the passages evaluated in full "
              f"({full['right']} right, {full['refused']} refused in full).",
              f"One article added to the largest collection: {one['into_largest_s']} s; into "
              f"an empty one: {one['alone_s']} s ({one['ratio']}x).",
              f"A one-shot `qa ask` at the largest size: {shot['one_shot_s']['median']} s "
              f"(median of {shot['one_shot_s']['n']}), peak RSS {shot['peak_rss_mb']} MB; the "
              f"bench process (indexing included): {r['sizes'][-1]['peak_rss_mb']} MB."]
    return "\n".join(lines)
