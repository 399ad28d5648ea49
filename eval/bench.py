"""`qa bench`: how fast each stage is, with ratios measured in the same run."""
from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from qa.config import Config

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QA_FILE = Path(__file__).resolve().parent / "qa.jsonl"


def run(config: Config, out: str | None = None, quick: bool = False,
        limit: int | None = None) -> int:
    out_dir = Path(out or ROOT / "bench" / "runs" / datetime.now().strftime("%Y%m%d-%H%M%S"))
    out_dir.mkdir(parents=True, exist_ok=True)
    questions = [json.loads(line)["question"] for line in QA_FILE.read_text().splitlines() if line]
    questions = questions[:3] if quick else questions[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        result = {"machine": _machine(config), "quick": quick, "questions": len(questions)}
        _say("indexing")
        result["indexing"] = bench_indexing(replace(config, data_dir=tmp / "idx"), tmp, quick)
        _say("retrieval")
        sizes = [1_000] if quick else [10_000, 100_000]
        result["retrieval"] = bench_retrieval(replace(config, data_dir=tmp / "ret"), sizes)
        _say("answering")
        result["answering"] = bench_answering(config, questions)
        _say("memory and model load")
        result["process"] = bench_process(config, questions[:3])
    (out_dir / "bench.json").write_text(json.dumps(result, indent=2))
    table = markdown(result)
    (out_dir / "bench.md").write_text(table)
    print(table)
    print(f"\nwrote {out_dir}/bench.json and bench.md", file=sys.stderr)
    return 0


# Indexing --------------------------------------------------------------------------------------
def bench_indexing(config: Config, tmp: Path, quick: bool) -> dict:
    """Full `qa index` path vs bare SentenceTransformer.encode on the same passages."""
    from qa.assistant import Assistant

    corpus = tmp / "corpus"
    write_articles(corpus, n_articles=4 if quick else 40)
    a = Assistant(config, require_index=False)
    model = a.embedder._model  # the SentenceTransformer inside llama-index's wrapper
    model.encode(["warm up"] * 8)
    report = a.index([corpus])
    texts = [p.text for p in a.store.passages()]
    t = time.perf_counter()
    model.encode(texts, batch_size=config.embed_batch_size, normalize_embeddings=True)
    encode_s = time.perf_counter() - t
    again = a.index([corpus])
    index_rate = report.added / report.seconds
    encode_rate = len(texts) / encode_s
    return {
        "passages": report.added,
        "index_seconds": round(report.seconds, 3),
        "index_passages_per_s": round(index_rate, 1),
        "encode_passages_per_s": round(encode_rate, 1),
        "ratio_index_to_encode": round(index_rate / encode_rate, 3),
        "reindex_unchanged_seconds": round(again.seconds, 3),
        "reindex_embedded": again.added,
        "seeds_reindex_unchanged_seconds": round(_seed_reindex(config, tmp), 3),
    }


def _seed_reindex(config: Config, tmp: Path) -> float:
    from qa.assistant import Assistant

    a = Assistant.build([SEEDS], replace(config, data_dir=tmp / "seeds-idx"))
    return a.index([SEEDS]).seconds


def seed_sentences() -> list[str]:
    from qa.citations import sentences

    out = []
    for f in sorted(SEEDS.glob("*.txt")):
        for para in f.read_text().split("\n\n"):
            out += [s for s in sentences(" ".join(para.split())) if len(s) > 30]
    return out


def synthetic_passages(n: int, seed: int = 0) -> list[list[int]]:
    """Deterministic passages, each 3 to 5 seed sentences recombined (as sentence indexes)."""
    rng = random.Random(seed)
    count = len(seed_sentences())
    return [[rng.randrange(count) for _ in range(rng.randint(3, 5))] for _ in range(n)]


def write_articles(folder: Path, n_articles: int, paragraphs: int = 12) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sents = seed_sentences()
    for i, combo in enumerate(synthetic_passages(n_articles * paragraphs, seed=1)):
        with open(folder / f"synthetic_{i // paragraphs:04d}.txt", "a") as f:
            f.write(" ".join(sents[j] for j in combo) + "\n\n")


# Retrieval -------------------------------------------------------------------------------------
def bench_retrieval(config: Config, sizes: list[int]) -> dict:
    """p50/p95 of dense, BM25 and hybrid retrieval on the seeds and on synthetic corpora."""
    from qa.assistant import Assistant

    questions = [json.loads(line)["question"] for line in QA_FILE.read_text().splitlines() if line]
    out = {}
    seeds = Assistant.build([SEEDS], replace(config, data_dir=Path(config.data_dir) / "seeds"))
    out["seeds"] = _time_retrievers(seeds, questions)
    for n in sizes:
        a = Assistant(replace(config, data_dir=Path(config.data_dir) / str(n)), require_index=False)
        t = time.perf_counter()
        fill_synthetic(a, n)
        out[str(n)] = {"build_s": round(time.perf_counter() - t, 1),
                       **_time_retrievers(a, questions)}
    return out


def fill_synthetic(assistant, n: int) -> None:
    """Store n synthetic passages; each embedding is the normalised mean of its sentences'.

    Embedding 100,000 passages would take longer than the rest of the bench; retrieval cost
    does not depend on where the vectors came from.
    """
    from qa.types import Passage

    sents = seed_sentences()
    vecs = np.asarray(assistant.embedder.get_text_embedding_batch(sents))
    combos = synthetic_passages(n)
    for i in range(0, n, 5000):
        batch, embs = [], []
        for j, combo in enumerate(combos[i : i + 5000], start=i):
            text = " ".join(sents[k] for k in combo)
            batch.append(Passage(id=f"syn{j:06d}", source=f"synthetic_{j // 12:05d}.txt",
                                 title="synthetic", text=text, start=0, end=len(text),
                                 path=f"/synthetic/{j // 12:05d}"))
            v = vecs[combo].mean(axis=0)
            embs.append((v / np.linalg.norm(v)).tolist())
        assistant.store.add(batch, embs)


def _time_retrievers(assistant, questions: list[str]) -> dict:
    r = assistant.retriever
    t = time.perf_counter()
    r.retrieve("warm up")  # builds BM25 once
    build = time.perf_counter() - t
    dense, sparse, hybrid, embed = [], [], [], []
    for q in questions:
        t = time.perf_counter()
        e = assistant.embedder.get_query_embedding(q)
        embed.append(time.perf_counter() - t)
        dense.append(_timed(lambda: r.dense(q, e)))
        sparse.append(_timed(lambda: r.sparse(q)))
        hybrid.append(_timed(lambda: r.retrieve(q)))
    return {"passages": assistant.store.count(), "bm25_build_s": round(build, 2),
            "query_embed": _stats_ms(embed), "dense": _stats_ms(dense),
            "bm25": _stats_ms(sparse), "hybrid": _stats_ms(hybrid)}


# Answering -------------------------------------------------------------------------------------
def bench_answering(config: Config, questions: list[str]) -> dict:
    """First-token and total seconds and token counts, for the product and the baseline."""
    from eval.baseline import Baseline
    from qa.assistant import Assistant

    a = Assistant(config)
    a.warm()
    systems = {"qa": a, "baseline": Baseline(a)}
    out = {}
    for name, system in systems.items():
        first, total, prompt, generated = [], [], [], []
        for q in questions:
            pieces, answer = _consume(system.stream(q))
            first.append(answer.timings["first_token_s"])
            total.append(answer.timings["total_s"])
            # A refusal from the evidence gate never reached the LLM: no tokens.
            gated = answer.abstained and answer.timings["total_s"] == answer.timings["first_token_s"]
            n_prompt, n_generated = (0, 0) if gated else _token_counts(a, pieces)
            prompt.append(n_prompt)
            generated.append(n_generated)
        out[name] = {"first_token_s": _stats(first), "total_s": _stats(total),
                     "prompt_tokens": _stats(prompt), "generated_tokens": _stats(generated)}
    out["ratio_total_median"] = round(
        out["qa"]["total_s"]["median"] / out["baseline"]["total_s"]["median"], 3)
    out["ratio_first_token_median"] = round(
        out["qa"]["first_token_s"]["median"] / out["baseline"]["first_token_s"]["median"], 3)
    return out


def _consume(stream):
    pieces, answer = [], None
    for item in stream:
        if isinstance(item, str):
            pieces.append(item)
        else:
            answer = item
    return pieces, answer


def _token_counts(assistant, pieces: list[str]) -> tuple[int, int]:
    """(prompt, generated) tokens of the last generation, read off llama.cpp's context.

    After a generation the context holds the prompt and the generated tokens, whatever part of
    the prompt came from the prefix cache, so this is the same measure for both systems (within
    a token or two of tokenizing the streamed text again). (0, n) for a hosted LLM.
    """
    generated = len(pieces)
    model = getattr(assistant.llm, "_model", None)
    if model is None:
        return 0, generated
    generated = len(model.tokenize("".join(pieces).encode(), add_bos=False, special=True))
    return max(0, model.n_tokens - generated), generated


# Process: memory and model load ----------------------------------------------------------------
_PROBE = """
import json, resource, sys, time
from qa import Assistant, Config
from qa.llm import load_llm
config = Config.load(**json.loads(sys.argv[1]))
t = time.perf_counter(); load_llm(config); load_s = time.perf_counter() - t
a = Assistant(config)
for q in json.loads(sys.argv[2]):
    a.ask(q)
try:  # ru_maxrss of a forked-and-exec'd child starts at its parent's RSS; VmHWM does not
    peak_kb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
except (OSError, IndexError):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"model_load_s": round(load_s, 2), "peak_rss_mb": round(peak_kb / 1024)}))
"""


def bench_process(config: Config, questions: list[str]) -> dict:
    """Peak RSS of a fresh process that loaded everything and answered; LLM load time."""
    from qa.llm import local_model_path

    if config.llm == "local":
        local_model_path(config)  # assembled already, so the probe times a plain load
    settings = {k: str(v) for k, v in config.public().items()
                if k in ("data_dir", "chroma_url", "llm", "model", "model_dir", "api_base") and v}
    runs = []
    # One load is one sample, and a busy moment once read 5.1 s for a ~2 s load: the load time
    # is the median of three fresh processes (only the first also answers, for the peak RSS).
    for asked in (questions, [], []):
        r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(settings), json.dumps(asked)],
                           capture_output=True, text=True, cwd=os.getcwd(), env=os.environ.copy())
        if r.returncode:
            return {"error": r.stderr.strip().splitlines()[-1:]}
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    loads = [run["model_load_s"] for run in runs]
    return {"model_load_s": statistics.median(loads), "model_load_samples_s": loads,
            "peak_rss_mb": runs[0]["peak_rss_mb"]}


# Helpers ---------------------------------------------------------------------------------------
def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _stats(values: list[float]) -> dict:
    v = sorted(values)
    return {"median": round(statistics.median(v), 3),
            "p95": round(v[min(len(v) - 1, int(0.95 * len(v)))], 3), "n": len(v)}


def _stats_ms(seconds: list[float]) -> dict:
    s = _stats([x * 1000 for x in seconds])
    return {"p50_ms": round(s["median"], 1), "p95_ms": round(s["p95"], 1)}


def _machine(config: Config) -> dict:
    from qa.llm import model_name

    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "cores": os.cpu_count(),
            "threads": config.threads, "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(), "model": model_name(config)}


def _say(stage: str) -> None:
    print(f"bench: {stage}…", file=sys.stderr, flush=True)


def markdown(r: dict) -> str:
    m, i, a, p = r["machine"], r["indexing"], r["answering"], r["process"]
    lines = [f"# qa bench, {m['date']} ({m['cores']} cores, {m['model']})", "",
             "| indexing | value |", "|---|---|",
             f"| passages indexed | {i['passages']} |",
             f"| `qa index` path | {i['index_passages_per_s']} passages/s |",
             f"| bare `SentenceTransformer.encode` | {i['encode_passages_per_s']} passages/s |",
             f"| ratio | **{i['ratio_index_to_encode']}x** |",
             f"| re-index unchanged ({i['passages']} passages) | {i['reindex_unchanged_seconds']} s, "
             f"{i['reindex_embedded']} embedded |",
             f"| re-index unchanged seeds | {i['seeds_reindex_unchanged_seconds']} s |", "",
             "| retrieval (ms, p50 / p95) | passages | query embed | dense | BM25 | hybrid |",
             "|---|---|---|---|---|---|"]
    for name, t in r["retrieval"].items():
        cell = lambda k: f"{t[k]['p50_ms']} / {t[k]['p95_ms']}"  # noqa: E731
        lines.append(f"| {name} | {t['passages']} | {cell('query_embed')} | {cell('dense')} | "
                     f"{cell('bm25')} | {cell('hybrid')} |")
    lines += ["", f"| answering, {r.get('questions', '?')} eval questions (median / p95) | qa | "
              "baseline |", "|---|---|---|"]
    for k, label in [("first_token_s", "first token (s)"), ("total_s", "total (s)"),
                     ("prompt_tokens", "prompt tokens"), ("generated_tokens", "generated tokens")]:
        q, b = a["qa"][k], a["baseline"][k]
        lines.append(f"| {label} | {q['median']} / {q['p95']} | {b['median']} / {b['p95']} |")
    lines += [f"| ratio qa/baseline, median total | {a['ratio_total_median']} | |",
              f"| ratio qa/baseline, median first token | {a['ratio_first_token_median']} | |",
              "", f"Peak RSS after answering: {p.get('peak_rss_mb', '?')} MB; "
              f"LLM load: {p.get('model_load_s', '?')} s (median of "
              f"{p.get('model_load_samples_s', '?')}).", ""]
    return "\n".join(lines)
