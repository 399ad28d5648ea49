"""Timeline topics (a set's timeline.jsonl, as in eval/news/) and how a timeline is scored:
expected events found, in date order, cited; listed events rightly dated."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

from eval.score import normalize, present
from qa.errors import QAFileError


def load(path: str | Path) -> list[dict]:
    """The topics of a timeline file, checked: {"id", "topic", "events": [{"date", "event",
    "must_include", "sources"}]}."""
    path, topics = Path(path), []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            t = json.loads(line)
            assert isinstance(t["topic"], str) and t["topic"].strip() and t["events"]
            for e in t["events"]:
                datetime.date.fromisoformat(e["date"])
                assert e["must_include"] and e["sources"]
        except (ValueError, KeyError, TypeError, AssertionError):
            raise QAFileError(f"{where}: expected {{\"id\", \"topic\", \"events\": [{{\"date\": "
                              "\"YYYY-MM-DD\", \"event\", \"must_include\": [...], \"sources\": "
                              "[...]}]}, see eval/news/README.md.") from None
        topics.append(t)
    return topics


def matches(expected: dict, row: dict) -> bool:
    """Whether a listed event reports an expected one: a cited passage of one of its sources
    whose words (row text or cited sentence) state one of its facts."""
    texts = [c["quote"] for c in row["citations"] if c["source"] in expected["sources"]]
    if not texts:
        return False
    said = normalize(" ".join([row["text"], *texts]))
    return any(present(f, said) for f in expected["must_include"])


def score(topic: dict, rows: list[dict]) -> dict:
    """found: expected events with a rightly dated, cited row; ordered: whether those rows come
    in the expected order; dated / judged: of the rows that report an expected event, those
    whose date is the expected one."""
    found, places, judged, dated = 0, [], 0, 0
    for e in topic["events"]:
        hits = [i for i, r in enumerate(rows) if matches(e, r) and r["date"] == e["date"]]
        if hits:
            found += 1
            places.append(hits[0])
    for r in rows:
        expected = [e for e in topic["events"] if matches(e, r)]
        if expected:
            judged += 1
            dated += any(r["date"] == e["date"] for e in expected)
    return {"id": topic["id"], "topic": topic["topic"], "expected": len(topic["events"]),
            "found": found, "ordered": places == sorted(places), "listed": len(rows),
            "judged": judged, "dated": dated}


def run(assistant, path: str | Path) -> dict:
    """Every topic's timeline, scored; totals over the file."""
    scored = []
    for topic in load(path):
        rows = [e.to_dict() for e in assistant.timeline(topic["topic"])]
        scored.append({**score(topic, rows), "rows": rows})
    total = {k: sum(s[k] for s in scored) for k in ("expected", "found", "listed", "judged",
                                                    "dated")}
    total["ordered"] = sum(s["ordered"] for s in scored)
    total["topics"] = len(scored)
    total["found_rate"] = total["found"] / total["expected"] if total["expected"] else None
    total["dated_rate"] = total["dated"] / total["judged"] if total["judged"] else None
    return {"totals": total, "topics": scored}


def table(result: dict) -> str:
    t = result["totals"]
    rate = lambda x: "n/a" if x is None else f"{x:.0%}"  # noqa: E731
    return (f"Timelines ({t['topics']} topics): {t['found']}/{t['expected']} expected events "
            f"found ({rate(t['found_rate'])}), {t['ordered']}/{t['topics']} in order; "
            f"{t['dated']}/{t['judged']} listed events that report an expected one rightly dated "
            f"and cited ({rate(t['dated_rate'])}); {t['listed']} events listed in all.")


def markdown(result: dict) -> str:
    """The timelines' section of report.md."""
    rows = [table(result), "", "| topic | found | in order | rightly dated | listed |",
            "|---|---|---|---|---|"]
    rows += [f"| {t['topic']} | {t['found']}/{t['expected']} | {'yes' if t['ordered'] else 'no'} "
             f"| {t['dated']}/{t['judged']} | {t['listed']} |" for t in result["topics"]]
    return "\n".join(rows)
