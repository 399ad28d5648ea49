"""`qa bench`, its first stages: indexing against a bare encode, and retrieval at scale."""
from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.config import Config

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QA_FILE = Path(__file__).resolve().parent / "qa.jsonl"


class NoLLM:
    """Retrieval is timed alone: the collection is searched, never read by a model."""

    reads_ahead, name = False, "none"


# Indexing --------------------------------------------------------------------------------------
def bench_indexing(config: Config, tmp: Path, quick: bool) -> dict:
    """Full `qa index` path vs bare SentenceTransformer.encode on the same passages."""
    from index.build import index_paths
    from index.embed import embed_texts, load_embedder
    from index.store import Store

    corpus = tmp / "corpus"
    write_articles(corpus, n_articles=4 if quick else 40)
    store = Store(config.data_dir, config.chroma_url, config.collection)
    embedder = load_embedder()
    model = embedder._model  # the SentenceTransformer inside llama-index's wrapper
    model.encode(["warm up"] * 8)

    def index():
        return index_paths([corpus], store, lambda t: embed_texts(embedder, t), config.chunk_size)

    report = index()
    texts = [p.text for p in store.passages()]
    t = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    encode_s = time.perf_counter() - t
    again = index()
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
    from index.build import index_paths
    from index.embed import embed_texts, load_embedder
    from index.store import Store

    store = Store(tmp / "seeds-idx", config.chroma_url, config.collection)
    embed = lambda t: embed_texts(load_embedder(), t)  # noqa: E731
    index_paths([SEEDS], store, embed, config.chunk_size)
    return index_paths([SEEDS], store, embed, config.chunk_size).seconds


def seed_sentences() -> list[str]:
    from qa.text import sentences

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
    seeds = Assistant.build([SEEDS], replace(config, data_dir=Path(config.data_dir) / "seeds"),
                            language_model=NoLLM())
    out["seeds"] = _time_retrievers(seeds, questions)
    for n in sizes:
        a = Assistant(replace(config, data_dir=Path(config.data_dir) / str(n)),
                      require_index=False, language_model=NoLLM())
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
    from index.types import Passage

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
    from qa.retrieve import Retriever

    c = assistant.config
    r = Retriever(assistant.store, assistant.embedder, c.top_k, c.retrieve_candidates)
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


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _stats_ms(seconds: list[float]) -> dict:
    v = sorted(x * 1000 for x in seconds)
    return {"p50_ms": round(v[len(v) // 2], 1), "p95_ms": round(v[min(len(v) - 1, int(0.95 * len(v)))], 1)}
