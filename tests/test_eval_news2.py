"""The second held-out news evaluation set (eval/news2/): counts, sources, and every fact found in its source text."""
from __future__ import annotations

import datetime
import json
from functools import lru_cache
from pathlib import Path

import pytest

from eval.score import normalize, present
from index.load import read_article

ROOT = Path(__file__).resolve().parent.parent / "eval" / "news2"
ARTICLES = ROOT / "articles"


def _rows(name: str) -> list[dict]:
    with open(ROOT / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


QA = _rows("qa.jsonl")
TIMELINE = _rows("timeline.jsonl")


@lru_cache(maxsize=None)
def _article(name: str):
    return read_article(ARTICLES / name)


@lru_cache(maxsize=None)
def _text(name: str) -> str:
    return normalize(_article(name).text)


def _found(fact: str, sources: list[str]) -> bool:
    return any(present(fact, _text(s)) for s in sources)


def test_counts_and_ids():
    kinds = [q["kind"] for q in QA]
    assert kinds.count("disagreement") >= 10
    assert kinds.count("when") >= 8
    assert kinds.count("plain") >= 6
    assert set(kinds) <= {"disagreement", "when", "plain"}
    assert len(TIMELINE) >= 5
    assert [q["id"] for q in QA] == [f"n2_{i:02d}" for i in range(1, len(QA) + 1)]
    assert [t["id"] for t in TIMELINE] == [f"t2_{i:02d}" for i in range(1, len(TIMELINE) + 1)]
    for q in QA:
        assert q["answerable"] is True and q["question"] and q["answer"] and q["must_include"]


def test_sources_exist():
    for q in QA:
        assert q["sources"], q["id"]
        for s in q["sources"]:
            assert (ARTICLES / s).is_file(), (q["id"], s)
    for t in TIMELINE:
        for e in t["events"]:
            assert e["sources"], (t["id"], e)
            for s in e["sources"]:
                assert (ARTICLES / s).is_file(), (t["id"], s)


@pytest.mark.parametrize("q", QA, ids=[q["id"] for q in QA])
def test_facts_in_sources(q):
    for fact in q["must_include"]:
        assert _found(fact, q["sources"]), (q["id"], fact)


@pytest.mark.parametrize("q", [q for q in QA if q["kind"] == "disagreement"],
                         ids=[q["id"] for q in QA if q["kind"] == "disagreement"])
def test_disagreement_values(q):
    values = q["values"]
    assert len({normalize(v["value"]) for v in values}) >= 2
    assert len({v["source"] for v in values}) >= 2
    for v in values:
        assert v["source"] in q["sources"], (q["id"], v)
        assert _found(v["value"], [v["source"]]), (q["id"], v)
        assert v["value"] in q["must_include"], (q["id"], v)


@pytest.mark.parametrize("q", [q for q in QA if q["kind"] == "when"],
                         ids=[q["id"] for q in QA if q["kind"] == "when"])
def test_when_dates(q):
    datetime.date.fromisoformat(q["date"])
    for s in q["sources"]:
        assert _article(s).date, (q["id"], s, "the loader finds no publication date")


@pytest.mark.parametrize("t", TIMELINE, ids=[t["id"] for t in TIMELINE])
def test_timeline(t):
    assert t["topic"]
    assert 2 <= len(t["events"]) <= 6
    dates = [datetime.date.fromisoformat(e["date"]) for e in t["events"]]
    assert dates == sorted(dates)
    for e in t["events"]:
        assert e["event"] and e["must_include"]
        for fact in e["must_include"]:
            assert _found(fact, e["sources"]), (t["id"], e["date"], fact)
