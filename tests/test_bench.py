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
    for system in ("qa", "baseline"):
        assert bench["answering"][system]["total_s"]["n"] == 3
    reading = bench["reading"]
    assert reading["tokens"] > 1000 and reading["state_mb"] > 0 and reading["added_passages"] > 0
    # the added article is read on from where the collection ended, not from the start
    assert 0 < reading["add_article_tokens_evaluated"] < reading["tokens"]
    assert bench["process"]["one_shot_s"]["n"] == 3
    assert bench["process"]["peak_rss_mb"] > 100
    loads = bench["process"]["model_load_samples_s"]
    assert len(loads) == 3 and bench["process"]["model_load_s"] == sorted(loads)[1] > 0
    md = (tmp_path / "bench.md").read_text()
    assert "| ratio |" in md and "hybrid" in md and md in r.stdout
