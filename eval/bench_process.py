"""A one-shot `qa ask` in a fresh process, timed with its peak memory: shared by `qa bench`
and `qa bench --scale`."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from qa.config import Config

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
    return {"one_shot_s": stats([s for s, _ in shots]), "one_shot_samples_s":
            [round(s, 2) for s, _ in shots], "peak_rss_mb": round(max(m for _, m in shots)),
            "model_load_s": statistics.median(loads), "model_load_samples_s": loads}


def _settings(config: Config) -> dict:
    return {k: str(v) for k, v in config.public().items()
            if k in ("data_dir", "chroma_url", "llm", "model", "model_dir", "api_base") and v}


def stats(values: list[float]) -> dict:
    v = sorted(values)
    return {"median": round(statistics.median(v), 3),
            "p95": round(v[min(len(v) - 1, int(0.95 * len(v)))], 3), "n": len(v)}
