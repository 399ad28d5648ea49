"""`qa bench --quick` runs end to end (it checks the bench works, not the speed)."""
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_quick_bench_writes_its_figures(seed_index, tmp_path):
    r = subprocess.run([sys.executable, "-m", "qa.cli", "bench", "--quick", "--data-dir",
                        str(seed_index), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    bench = json.loads((tmp_path / "bench.json").read_text())
    assert set(bench) >= {"machine", "indexing", "retrieval", "reading", "answering",
                          "process"}
    assert bench["indexing"]["reindex_embedded"] == 0
    assert bench["indexing"]["passages"] > 0 and bench["indexing"]["ratio_index_to_encode"] > 0
    assert set(bench["retrieval"]) == {"seeds", "1000"}
    assert bench["retrieval"]["1000"]["passages"] == 1000
    for system in ("qa", "baseline", "floor"):
        assert bench["answering"][system]["total_s"]["n"] == 3
    assert bench["answering"]["floor_ratio_first_token_s"] > 0
    upload = bench["upload"]
    assert len(upload["questions"]) == 1 and upload["ratio"] > 0 and upload["cited"] <= 1
    reading = bench["reading"]
    assert reading["tokens"] > 300 and reading["state_mb"] > 0 and reading["added_passages"] > 0
    sizes = reading["mb_per_1000_text_tokens"]
    assert set(sizes) == {"f16", "q8", "q4"} and sizes["q4"] < sizes["q8"] < sizes["f16"]
    # only the added article's passages are read, not the collection again
    assert 0 < reading["add_article_tokens_read"] < reading["tokens"]
    assert bench["process"]["one_shot_s"]["n"] == 1
    assert bench["process"]["peak_rss_mb"] > 100
    loads = bench["process"]["model_load_samples_s"]
    assert len(loads) == 1 and bench["process"]["model_load_s"] == loads[0] > 0
    assert bench["machine"]["cpu"] and "CPU :" in bench["machine"]["llama"]  # llama.cpp's info
    md = (tmp_path / "bench.md").read_text()
    assert "| qa / floor |" in md and "hybrid" in md and md in r.stdout
