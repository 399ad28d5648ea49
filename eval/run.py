"""`qa eval`: ask every question of a Q&A file, score the answers, write the run's files."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path

from eval import dataset, report
from eval.score import score
from qa.errors import InputError, QAFileError
from qa.types import Answer

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "eval" / "runs"


def run(config, qa_file: str | None = None, out: str | None = None, baseline: bool = False,
        limit: int | None = None, *, assistant=None, progress: bool = True) -> int:
    """Evaluate the Assistant (and with `baseline` the plain pipeline); write files to `out`.

    `assistant` replaces the one `config` would open (tests pass one with fake models).
    """
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, not {limit}.")
    qa_path = Path(qa_file) if qa_file else dataset.DEFAULT_FILE
    questions = dataset.load(qa_path, limit)  # before any model loads: a bad file fails fast
    if assistant is None:
        from qa.assistant import Assistant

        assistant = Assistant(held_out(config, qa_path))
    check_sources(questions, assistant, qa_path)
    started = datetime.now().astimezone()
    info = describe(assistant, qa_path, questions, limit, started)  # the code as it starts
    out = Path(out) if out else RUNS / started.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    # Rows are written as they come, so a run stopped half-way keeps what it measured.
    with open(out / "results.jsonl", "w", encoding="utf-8") as f:
        def keep(row: dict) -> None:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()

        rows = evaluate(assistant, questions, baseline=baseline, progress=progress, on_row=keep)
    summary = report.summarize(rows, info)
    topics = qa_path.parent / "timeline.jsonl"
    if topics.exists() and limit is None:  # a set with timeline topics (eval/news/)
        from eval import timeline

        summary["timeline"] = timeline.run(assistant, topics)
    report.write(out, summary, rows)
    print(report.table(summary))
    if "timeline" in summary:
        from eval import timeline

        print("\n" + timeline.table(summary["timeline"]))
    print(f"\nWrote {out}: report.md, summary.json, results.jsonl, metrics.png, latency.png")
    return 0


def held_out(config, qa_path: Path):
    """The config with the decision fitted without this set where the fitted decision is
    used, so that a set's figures never come from a decision fitted on it."""
    path = dataset.held_out_decision(qa_path) if config.decision == "fitted" else None
    if path is None:
        return config
    print(f"Deciding with {path.relative_to(ROOT)} (fitted without this set).")
    return replace(config, decision=str(path))


def evaluate(assistant, questions, baseline: bool = False, progress: bool = True,
             on_row=None) -> list[dict]:
    """Answer and score every question, system by system: one row per system and question."""
    assistant.warm()  # loading the models is not the first question's latency
    systems = {"assistant": assistant.stream}
    if baseline:
        from eval.baseline import Baseline

        systems["baseline"] = Baseline(assistant).stream
    rows = []
    for name, stream in systems.items():
        # One system after the other, as each would serve: llama.cpp reuses the prompt prefix
        # a system's questions share, which interleaving the two would throw away.
        rows += _ask_all(name, stream, questions, progress, on_row)
    return rows


def _ask_all(name: str, stream, questions, progress: bool, on_row) -> list[dict]:
    from tqdm import tqdm

    rows, passed = [], 0
    bar = tqdm(total=len(questions), desc=name, unit="q", file=sys.stderr, disable=not progress)
    for n, q in enumerate(questions, start=1):
        answer, timings, streamed = timed(stream, q.question)
        row = result(name, q, answer, timings, streamed)
        row["load_1m"] = round(os.getloadavg()[0], 2)  # how busy the machine was meanwhile
        passed += row["metrics"]["passed"]
        bar.set_postfix_str(f"accuracy {passed / n:.0%}", refresh=False)
        bar.update()
        rows.append(row)
        if on_row:
            on_row(row)
    bar.close()
    return rows


def timed(stream, question: str) -> tuple[Answer, dict, str]:
    """The final Answer, first-token and total seconds on the harness's own clock, and the
    text as streamed (which the assistant's checks may have changed since).

    `cpu_s` is the CPU time of this process (all threads): less sensitive than wall-clock
    seconds to other programs competing for the cores.
    """
    t0, cpu0 = time.perf_counter(), time.process_time()
    first = answer = None
    pieces = []
    for item in stream(question):
        if isinstance(item, Answer):
            answer = item
        elif item:
            if first is None:
                first = time.perf_counter() - t0
            pieces.append(item)
    total = time.perf_counter() - t0
    timings = {"first_token_s": round(total if first is None else first, 3),
               "total_s": round(total, 3), "cpu_s": round(time.process_time() - cpu0, 3)}
    return answer, timings, "".join(pieces).strip()


def result(system: str, q: dataset.Question, answer: Answer, timings: dict,
           streamed: str = "") -> dict:
    """One line of results.jsonl."""
    return {
        "system": system, "id": q.id, "question": q.question, "answerable": q.answerable,
        "expected": q.answer, "must_include": q.must_include, "sources": q.sources,
        "answer": answer.text, "streamed": streamed, "abstained": answer.abstained,
        "model": answer.model,
        "citations": [asdict(c) for c in answer.citations],
        "passages": [{"id": p.id, "source": p.source, "start": p.start, "end": p.end,
                      "score": round(p.score, 4)} for p in answer.passages],
        "timings": timings, "reported_timings": answer.timings,
        "candidates": answer.candidates, "pieces": answer.pieces,
        "quote": answer.quote, "notes": answer.notes,
        "metrics": score(q, answer),
    }


def check_sources(questions, assistant, qa_path: Path) -> None:
    """Every gold source must be indexed, or hit@k would be zero for a typo."""
    indexed = {a.source for a in assistant.articles()}
    for q in questions:
        for source in q.sources:
            if source not in indexed:
                raise QAFileError(
                    f"{qa_path}:{q.line}: source {source!r} is not indexed in "
                    f"{assistant.store.where}. Index it (`qa index PATH`) or fix the file name."
                )


def describe(assistant, qa_path: Path, questions, limit, started: datetime) -> dict:
    """What a reader needs to reproduce or compare the run."""
    return {
        "date": started.isoformat(timespec="seconds"),
        "qa_file": str(qa_path),
        "qa_sha256": hashlib.sha256(qa_path.read_bytes()).hexdigest(),
        "questions": len(questions),
        "limit": limit,
        "model": assistant.model,
        "passages_indexed": assistant.store.count(),
        "config": assistant.config.public(),
        "machine": machine(),
        "git": git_state(),
    }


def machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cores": os.cpu_count(), "usable_cores": usable, "cpu": cpu or platform.processor(),
            "platform": platform.platform(), "python": platform.python_version()}


def git_state() -> dict | None:
    """The commit, and whether the work tree had uncommitted changes."""
    try:
        def git(*args):
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()

        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return None
