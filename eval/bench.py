"""`qa bench`: how fast each stage is, with ratios measured in the same run (eval/README.md)."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from eval import bench_index
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
    article in a quick run), then one article added (only its passages are read)."""
    from qa.assistant import Assistant

    a = Assistant(config, require_index=False)
    seeds = sorted(bench_index.SEEDS.glob("*.txt"))[:1] if quick else [bench_index.SEEDS]
    report = a.index(seeds)
    first = a.reading_info
    extra = tmp / "extra"
    extra.mkdir()
    (extra / "added.txt").write_text("Added article\n\n" + " ".join(
        bench_index.seed_sentences()[:12]))
    t = time.perf_counter()
    added = a.index([extra], prune=False)
    added_s = time.perf_counter() - t
    size_mb = a.llm.store.size_mb()
    return {"passages": report.added, "tokens": first.get("tokens", 0),
            "read_s": round(first.get("seconds", 0), 2),
            "state_mb": round(size_mb, 1),
            "state_mb_per_1000_tokens": round(1000 * size_mb / max(1, first.get("tokens", 1)), 1),
            "add_article_s": round(added_s, 2), "added_passages": added.added,
            "add_article_tokens_read": a.reading_info.get("tokens", 0)}


def bench_answering(config: Config, questions: list[str]) -> dict:
    """First-token and total seconds, the product against the plain llama-index pipeline."""
    from eval.baseline import Baseline
    from eval.run import timed
    from qa.assistant import Assistant

    a = Assistant(config)
    a.warm()
    out = {}
    for name, stream in (("qa", a.stream), ("baseline", Baseline(a).stream)):
        runs = [timed(stream, q)[1] for q in questions]
        out[name] = {k: _stats([r[k] for r in runs]) for k in ("first_token_s", "total_s")}
    for k in ("first_token_s", "total_s"):
        out[f"ratio_{k}"] = round(out["qa"][k]["median"] / out["baseline"][k]["median"], 3)
    return out


_PROBE = """
import json, sys, time
t = time.perf_counter()
from qa.llm import load_llm
from qa import Config
load_llm(Config.load(**json.loads(sys.argv[1])))
print(json.dumps({"model_load_s": round(time.perf_counter() - t, 2)}))
"""


def bench_process(config: Config, questions: list[str]) -> dict:
    """A one-shot `qa ask` in a fresh process (wall seconds and peak memory), and the LLM load,
    each the median of as many fresh processes as questions."""
    env = {**os.environ, **{f"QA_{k.upper()}": str(v) for k, v in _settings(config).items()}}
    qa = str(Path(sys.executable).with_name("qa"))
    shots = []
    for q in questions[:3]:
        t = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M", qa, "ask", "--json", q],
                           capture_output=True, text=True, env=env)
        if r.returncode:
            return {"error": r.stderr.strip().splitlines()[-1:]}
        shots.append((time.perf_counter() - t, int(r.stderr.strip().splitlines()[-1]) / 1024))
    loads = [json.loads(subprocess.run([sys.executable, "-c", _PROBE, json.dumps(_settings(config))],
                                       capture_output=True, text=True).stdout)["model_load_s"]
             for _ in range(len(questions))]
    return {"one_shot_s": _stats([s for s, _ in shots]), "one_shot_samples_s":
            [round(s, 2) for s, _ in shots], "peak_rss_mb": round(max(m for _, m in shots)),
            "model_load_s": statistics.median(loads), "model_load_samples_s": loads}


def _settings(config: Config) -> dict:
    return {k: str(v) for k, v in config.public().items()
            if k in ("data_dir", "chroma_url", "llm", "model", "model_dir", "api_base") and v}


def _stats(values: list[float]) -> dict:
    v = sorted(values)
    return {"median": round(statistics.median(v), 3),
            "p95": round(v[min(len(v) - 1, int(0.95 * len(v)))], 3), "n": len(v)}


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
             f"| the model reads the seeds' {rd['passages']} passages ({rd['tokens']} tokens) | "
             f"{rd['read_s']} s, stored {rd['state_mb']} MB "
             f"({rd['state_mb_per_1000_tokens']} MB per 1,000 tokens) |",
             f"| one article added ({rd['added_passages']} passages): index and read | "
             f"{rd['add_article_s']} s, {rd['add_article_tokens_read']} tokens read |",
             "", "| retrieval (ms, p50 / p95) | passages | query embed | dense | BM25 | hybrid |",
             "|---|---|---|---|---|---|"]
    for name, t in r["retrieval"].items():
        cell = lambda k: f"{t[k]['p50_ms']} / {t[k]['p95_ms']}"  # noqa: E731
        lines.append(f"| {name} | {t['passages']} | {cell('query_embed')} | {cell('dense')} | "
                     f"{cell('bm25')} | {cell('hybrid')} |")
    lines += ["", f"| answering, {r['questions']} eval questions (median / p95) | qa | baseline "
              "| ratio |", "|---|---|---|---|"]
    for k, label in (("first_token_s", "first token (s)"), ("total_s", "answer (s)")):
        q, b = a["qa"][k], a["baseline"][k]
        lines.append(f"| {label} | {q['median']} / {q['p95']} | {b['median']} / {b['p95']} | "
                     f"{a[f'ratio_{k}']} |")
    lines += ["", f"One-shot `qa ask` in a fresh process: **{p['one_shot_s']['median']} s** median "
              f"({p['one_shot_samples_s']}); peak RSS {p['peak_rss_mb']} MB; LLM load "
              f"{p['model_load_s']} s (median of {p['model_load_samples_s']}).", ""]
    return "\n".join(lines)
