"""The news evaluation sets (eval/news/, eval/news2/): counts, sources, and every fact found in
its source text."""
from __future__ import annotations

import datetime
import json
from functools import lru_cache
from pathlib import Path

import pytest

from eval.score import normalize, present
from index.load import read_article

EVAL = Path(__file__).resolve().parent.parent / "eval"
# Per set: its least counts of disagreement, when and plain questions and of timeline topics,
# the prefixes of its ids, and the most events a topic has.
SETS = {"news": ((15, 15, 5, 10), ("n_", "t_"), 8),
        "news2": ((10, 8, 6, 5), ("n2_", "t2_"), 6)}


def _rows(folder: str, name: str) -> list[dict]:
    with open(EVAL / folder / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


QA = {s: _rows(s, "qa.jsonl") for s in SETS}
TIMELINE = {s: _rows(s, "timeline.jsonl") for s in SETS}


@lru_cache(maxsize=None)
def _article(folder: str, name: str):
    return read_article(EVAL / folder / "articles" / name)


@lru_cache(maxsize=None)
def _text(folder: str, name: str) -> str:
    return normalize(_article(folder, name).text)


def _found(folder: str, fact: str, sources: list[str]) -> bool:
    return any(present(fact, _text(folder, s)) for s in sources)


def _each(kind: str | None = None) -> list:
    return [pytest.param(s, q, id=q["id"]) for s in SETS for q in QA[s]
            if kind is None or q["kind"] == kind]


@pytest.mark.parametrize("folder", SETS)
def test_counts_and_ids(folder):
    (disagreements, whens, plains, topics), (qid, tid), _ = SETS[folder]
    qa, timeline = QA[folder], TIMELINE[folder]
    kinds = [q["kind"] for q in qa]
    assert kinds.count("disagreement") >= disagreements
    assert kinds.count("when") >= whens
    assert kinds.count("plain") >= plains
    assert set(kinds) <= {"disagreement", "when", "plain"}
    assert len(timeline) >= topics
    assert [q["id"] for q in qa] == [f"{qid}{i:02d}" for i in range(1, len(qa) + 1)]
    assert [t["id"] for t in timeline] == [f"{tid}{i:02d}" for i in range(1, len(timeline) + 1)]
    for q in qa:
        assert q["answerable"] is True and q["question"] and q["answer"] and q["must_include"]


@pytest.mark.parametrize("folder", SETS)
def test_sources_exist(folder):
    articles = EVAL / folder / "articles"
    for q in QA[folder]:
        assert q["sources"], q["id"]
        for s in q["sources"]:
            assert (articles / s).is_file(), (q["id"], s)
    for t in TIMELINE[folder]:
        for e in t["events"]:
            assert e["sources"], (t["id"], e)
            for s in e["sources"]:
                assert (articles / s).is_file(), (t["id"], s)


@pytest.mark.parametrize("folder, q", _each())
def test_facts_in_sources(folder, q):
    for fact in q["must_include"]:
        assert _found(folder, fact, q["sources"]), (q["id"], fact)


@pytest.mark.parametrize("folder, q", _each("disagreement"))
def test_disagreement_values(folder, q):
    values = q["values"]
    assert len({normalize(v["value"]) for v in values}) >= 2
    assert len({v["source"] for v in values}) >= 2
    for v in values:
        assert v["source"] in q["sources"], (q["id"], v)
        assert _found(folder, v["value"], [v["source"]]), (q["id"], v)
        assert v["value"] in q["must_include"], (q["id"], v)


@pytest.mark.parametrize("folder, q", _each("when"))
def test_when_dates(folder, q):
    datetime.date.fromisoformat(q["date"])
    for s in q["sources"]:
        assert _article(folder, s).date, (q["id"], s, "the loader finds no publication date")


@pytest.mark.parametrize("folder, t", [pytest.param(s, t, id=t["id"]) for s in SETS
                                       for t in TIMELINE[s]])
def test_timeline(folder, t):
    assert t["topic"]
    assert 2 <= len(t["events"]) <= SETS[folder][2]
    dates = [datetime.date.fromisoformat(e["date"]) for e in t["events"]]
    assert dates == sorted(dates)
    for e in t["events"]:
        assert e["event"] and e["must_include"]
        for fact in e["must_include"]:
            assert _found(folder, fact, e["sources"]), (t["id"], e["date"], fact)
