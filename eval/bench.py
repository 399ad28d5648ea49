"""`qa bench`: how fast each stage is, with ratios measured in the same run (eval/README.md)."""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from eval import bench_index
from eval.bench_process import bench_process, stats
from eval.dataset import load
from qa.config import Config

ROOT = Path(__file__).resolve().parent.parent


def run(config: Config, out: str | None = None, quick: bool = False,
        limit: int | None = None, scale: bool = False) -> int:
    out_dir = Path(out or ROOT / "bench" / "runs" / datetime.now().strftime("%Y%m%d-%H%M%S"))
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = _machine(config)
    print(f"CPU: {machine['cpu']}, {machine['cores']} cores\nllama.cpp: {machine['llama']}",
          file=sys.stderr)
    if scale:
        from eval import bench_scale

        with tempfile.TemporaryDirectory() as tmp:
            result = {"machine": machine, **bench_scale.run_scale(config, Path(tmp))}
        return _write(out_dir, "bench-scale", result, bench_scale.markdown(result))
    questions = [q.question for q in load(limit=3 if quick else limit)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        result = {"machine": machine, "quick": quick, "questions": len(questions)}
        _say("indexing")
        result["indexing"] = bench_index.bench_indexing(replace(config, data_dir=tmp / "idx"),
                                                        tmp, quick)
        _say("retrieval")
        result["retrieval"] = bench_index.bench_retrieval(replace(config, data_dir=tmp / "ret"),
                                                          [1_000] if quick else [10_000, 100_000])
        seeds = replace(config, data_dir=tmp / "seeds")
        _say("reading the passages")
        result["reading"] = bench_reading(seeds, tmp, quick)
        _say("answering")
        result["answering"] = bench_answering(seeds, questions)
        _say("a question right after an upload")
        result["upload"] = bench_upload(seeds, tmp, 1 if quick else 3)
        _say("one-shot `qa ask`, memory and model load")
        result["process"] = bench_process(seeds, questions[:1 if quick else 3])
    return _write(out_dir, "bench", result, markdown(result))


def _write(out_dir: Path, name: str, result: dict, table: str) -> int:
    text = f"{_machine_line(result['machine'])}\n\n{table}\n"
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2))
    (out_dir / f"{name}.md").write_text(text)
    print(text)
    print(f"\nwrote {out_dir}/{name}.json and {name}.md", file=sys.stderr)
    return 0


def bench_reading(config: Config, tmp: Path, quick: bool = False) -> dict:
    """The index-time cost of the model's reading: every seed passage from nothing (one seed
    article in a quick run), then one article added (only its passages are read); the store's
    size per 1,000 tokens of the articles' own text, for each way of storing readings."""
    from qa.assistant import Assistant

    a = Assistant(config, require_index=False)
    seeds = sorted(bench_index.SEEDS.glob("*.txt"))[:1] if quick else [bench_index.SEEDS]
    report = a.index(seeds)
    first = a.reading_info
    text_tokens = sum(a.llm.count_tokens(p.text) for p in a.store.passages())
    per_type = {config.store_type: a.llm.store.size_mb()}
    for kind in ("f16", "q8", "q4"):
        if kind not in per_type:
            other = Assistant(replace(config, data_dir=tmp / f"store-{kind}", store_type=kind),
                              require_index=False)
            other.index(seeds)
            per_type[kind] = other.llm.store.size_mb()
    extra = tmp / "extra"
    extra.mkdir()
    (extra / "added.txt").write_text("Added article\n\n" + " ".join(
        bench_index.seed_sentences()[:12]))
    t = time.perf_counter()
    added = a.index([extra], prune=False)
    added_s = time.perf_counter() - t
    return {"passages": report.added, "tokens": first.get("tokens", 0),
            "text_tokens": text_tokens, "read_s": round(first.get("seconds", 0), 2),
            "state_mb": round(per_type[config.store_type], 1), "store_type": config.store_type,
            "mb_per_1000_text_tokens": {k: round(1000 * v / max(1, text_tokens), 1)
                                        for k, v in per_type.items()},
            "add_article_s": round(added_s, 2), "added_passages": added.added,
            "add_article_tokens_read": a.reading_info.get("tokens", 0)}


def bench_answering(config: Config, questions: list[str]) -> dict:
    """First-token and total seconds: the product, the plain llama-index pipeline, and the
    floor (each question's own turn read alone, its answer's tokens written with nothing else
    read), all in this run."""
    from eval.baseline import Baseline
    from eval.bench_scale import floor_first, floor_rates
    from eval.run import timed
    from qa.assistant import Assistant

    a = Assistant(config)
    a.warm()
    out, written = {}, []
    for name, stream in (("qa", a.stream), ("baseline", Baseline(a).stream)):
        runs = []
        for q in questions:
            answer, t, _ = timed(stream, q)
            runs.append(t)
            if name == "qa":
                written.append(a.llm.count_tokens(answer.candidates[0]) if answer.candidates
                               else 0)
        out[name] = {k: stats([r[k] for r in runs]) for k in ("first_token_s", "total_s")}
    rate = floor_rates(a.llm)["decode_tokens_per_s"]
    firsts = [floor_first(a.llm, q) for q in questions]
    out["floor"] = {"first_token_s": stats(firsts),
                    "total_s": stats([f + w / rate for f, w in zip(firsts, written)])}
    for k in ("first_token_s", "total_s"):
        out[f"ratio_{k}"] = round(out["qa"][k]["median"] / out["baseline"][k]["median"], 3)
        out[f"floor_ratio_{k}"] = round(out["qa"][k]["median"] / out["floor"][k]["median"], 3)
    return out


def bench_upload(config: Config, tmp: Path, count: int = 3) -> dict:
    """An article added as the chat adds one (indexed, then read behind questions), and a
    question about it asked at once, against questions about articles read before; each
    upload into its own copy of the collection."""
    import shutil

    from eval.run import timed
    from eval.score import score
    from qa.assistant import Assistant

    other = ROOT / "eval" / "other"
    asked = [q for q in load(other / "qa.jsonl") if q.answerable][:count]
    seeds = load(limit=count)
    rows = []
    for i, q in enumerate(asked):
        copy = tmp / f"upload-{i}"
        shutil.copytree(config.data_dir, copy)
        a = Assistant(replace(config, data_dir=copy))
        a.warm()
        normal = timed(a.stream, seeds[i].question)[1]["total_s"]
        t0 = time.perf_counter()
        a.index([other / "articles" / q.sources[0]], prune=False, read=False)
        indexed = time.perf_counter() - t0
        reader = a.read_in_background()
        answer, t, _ = timed(a.stream, q.question)
        m = score(q, answer)
        reader.join()
        rows.append({"indexed_s": round(indexed, 2), "answer_s": t["total_s"],
                     "normal_answer_s": normal, "right": bool(m["correct"]),
                     "cited": q.sources[0] in {c.source for c in answer.citations}})
    return {"questions": rows, "answer_s": stats([r["answer_s"] for r in rows]),
            "normal_answer_s": stats([r["normal_answer_s"] for r in rows]),
            "ratio": round(stats([r["answer_s"] for r in rows])["median"]
                           / stats([r["normal_answer_s"] for r in rows])["median"], 2),
            "right": sum(r["right"] for r in rows), "cited": sum(r["cited"] for r in rows)}


def _machine(config: Config) -> dict:
    import llama_cpp

    from eval.run import machine
    from qa.llm import model_name

    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "cores": os.cpu_count(),
            "threads": config.threads, "python": platform.python_version(),
            "cpu": machine()["cpu"], "model": model_name(config),
            "llama": llama_cpp.llama_print_system_info().decode().strip()}


def _machine_line(m: dict) -> str:
    return f"{m['date']}: {m['cpu']} ({m['cores']} cores, {m['threads']} threads), {m['model']}"


def _say(stage: str) -> None:
    print(f"bench: {stage}…", file=sys.stderr, flush=True)


def markdown(r: dict) -> str:
    i, rd, a, p = r["indexing"], r["reading"], r["answering"], r["process"]
    lines = ["# qa bench", "",
             "| indexing | value |", "|---|---|",
             f"| `qa index` path vs bare `SentenceTransformer.encode` ({i['passages']} passages) "
             f"| {i['index_passages_per_s']} vs {i['encode_passages_per_s']} passages/s: "
             f"**{i['ratio_index_to_encode']}x** |",
             f"| re-index unchanged: {i['passages']} passages / seeds | "
             f"{i['reindex_unchanged_seconds']} s / {i['seeds_reindex_unchanged_seconds']} s |",
             f"| the model reads the seeds' {rd['passages']} passages ({rd['tokens']} tokens, "
             f"{rd['text_tokens']} of the articles' own text) | {rd['read_s']} s, stored "
             f"{rd['state_mb']} MB ({rd['store_type']}) |",
             "| stored, MB per 1,000 tokens of the articles' own text | " + ", ".join(
                 f"{k}: {v}" for k, v in rd["mb_per_1000_text_tokens"].items()) + " |",
             f"| one article added ({rd['added_passages']} passages): index and read | "
             f"{rd['add_article_s']} s, {rd['add_article_tokens_read']} tokens read |",
             "", "| retrieval (ms, p50 / p95) | passages | query embed | dense | BM25 | hybrid |",
             "|---|---|---|---|---|---|"]
    for name, t in r["retrieval"].items():
        cell = lambda k: f"{t[k]['p50_ms']} / {t[k]['p95_ms']}"  # noqa: E731
        lines.append(f"| {name} | {t['passages']} | {cell('query_embed')} | {cell('dense')} | "
                     f"{cell('bm25')} | {cell('hybrid')} |")
    lines += ["", f"| answering, {r['questions']} eval questions (median / p95) | qa | baseline "
              "| qa / baseline | floor | qa / floor |", "|---|---|---|---|---|---|"]
    for k, label in (("first_token_s", "first token (s)"), ("total_s", "answer (s)")):
        q, b, f = a["qa"][k], a["baseline"][k], a["floor"][k]
        lines.append(f"| {label} | {q['median']} / {q['p95']} | {b['median']} / {b['p95']} | "
                     f"{a[f'ratio_{k}']} | {f['median']} | {a[f'floor_ratio_{k}']} |")
    u = r["upload"]
    lines += ["", f"A question right after an upload (indexed, then read behind questions): "
              f"**{u['answer_s']['median']} s** against {u['normal_answer_s']['median']} s for "
              f"a question about the articles read before ({u['ratio']}x); {u['right']} of "
              f"{len(u['questions'])} right, {u['cited']} citing the upload."]
    lines += ["", f"One-shot `qa ask` in a fresh process: **{p['one_shot_s']['median']} s** median "
              f"({p['one_shot_samples_s']}); peak RSS {p['peak_rss_mb']} MB; LLM load "
              f"{p['model_load_s']} s (median of {p['model_load_samples_s']}).", ""]
    return "\n".join(lines)
