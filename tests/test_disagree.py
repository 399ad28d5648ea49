"""Where reports disagree, dates made absolute, and timelines: index/dates.py, qa/disagree.py,
qa/when.py, qa/timeline.py, through the Python API, the CLI and the API server (scripted LLM,
fake embedder for retrieval, real MiniLM for sentences)."""
import json

import httpx
import pytest

from eval import dataset
from eval.score import all_values, date_right
from index.dates import loads, resolve
from qa.errors import InputError, QAFileError
from qa.types import Citation

# Two invented reports of one storm, a day apart, by two outlets: the toll differs.
COURIER = """Storm floods the Kellerby valley

By Ana Brook, The Valley Courier

Published March 4, 2024

A storm that swept through Kellerby on Sunday killed 12 people, officials said. Rescue crews \
worked through the night to reach farms cut off by the flood. The mayor will visit the valley \
on Friday.
"""
HERALD = """Kellerby storm toll climbs

By Tom Reed, The Northern Herald

Published March 5, 2024

The storm that swept through Kellerby on Sunday killed 15 people, the regional police said. \
Forty homes were destroyed along the river.
"""
TOLL = "How many people were killed by the storm in Kellerby?"


@pytest.fixture
def storm(seeds):
    (seeds / "courier.txt").write_text(COURIER)
    (seeds / "herald.txt").write_text(HERALD)
    return seeds


# Dates --------------------------------------------------------------------------------------
def test_relative_dates_are_resolved_against_the_publication_date():
    text = ("Police said on Tuesday that the bridge shut. Yesterday the mayor spoke. Talks are "
            "set for Friday. The Dec. 5 fire burned. It opened in April.")
    got = {text[a:b]: (iso, period) for a, b, iso, period in resolve(text, "2011-05-04")}
    assert got == {"Tuesday": ("2011-05-03", "day"), "Yesterday": ("2011-05-03", "day"),
                   "Friday": ("2011-05-06", "day"), "Dec. 5": ("2010-12-05", "day"),
                   "April": ("2011-04-04", "month")}


def test_a_report_of_a_weekday_names_that_day_and_an_undated_article_keeps_its_words():
    assert [d[2] for d in resolve("The vote was held on Wednesday.", "2011-05-04")] == ["2011-05-04"]
    text = "The vote was held on Wednesday, not on May 3, 2011."
    assert [(text[a:b], iso) for a, b, iso, _ in resolve(text, "")] == [("May 3, 2011",
                                                                         "2011-05-03")]
    assert resolve("He may go now, a second time, with 10 people.", "2011-05-04") == []


def test_stored_dates_that_do_not_hold_are_resolved_again():
    assert loads('[[0,7,"2011-05-03","day"]]') == [[0, 7, "2011-05-03", "day"]]
    for damaged in (None, "", "[[0", '[["a",7,"2011-05-03","day"]]', '[[0,7,"x","decade"]]'):
        assert loads(damaged) is None


def test_an_index_made_before_dates_were_resolved_gets_them_without_embedding_again(
        make_assistant, storm):
    a = make_assistant()
    ids = [p.id for p in a.store.passages() if p.source == "courier.txt"]
    a.store.collection.update(ids=ids, metadatas=[{"dates": "damaged"}] * len(ids))
    assert set(ids) <= a.store.undated()
    calls = a.embedder.calls
    a.index([storm])
    assert a.embedder.calls == calls and not a.store.undated()
    courier = [p for p in a.store.passages() if p.source == "courier.txt"]
    # The dateline, Sunday, and the Friday ahead.
    assert ["2024-03-04", "2024-03-03", "2024-03-08"] == [d[2] for p in courier for d in p.dates]


# Disagreements ------------------------------------------------------------------------------
def test_differing_tolls_are_stated_each_with_its_source_newest_first(make_assistant, storm):
    a = make_assistant("The storm killed 12 people [1].")
    answer = a.ask(TOLL)
    assert [(x.value, x.source) for x in answer.disagreements] == [
        ("15", "herald.txt"), ("12", "courier.txt")]
    assert answer.text.startswith("The reports differ. The Northern Herald of 5 March 2024 "
                                  "gives 15:")
    assert "The Valley Courier of 4 March 2024 gives 12:" in answer.text
    by_number = {c.number: c.source for c in answer.citations}
    assert all(by_number[x.citation] == x.source for x in answer.disagreements)
    assert "Sunday (3 March 2024)" in answer.text  # the quoted report's day, made absolute
    assert all_values([{"value": "15", "source": "herald.txt"},
                       {"value": "12|twelve", "source": "courier.txt"}],
                      answer.text, answer.citations)
    d = answer.to_dict()["disagreements"]
    assert [x["value"] for x in d] == ["15", "12"] and d[0]["outlet"] == "The Northern Herald"


def test_the_same_value_written_differently_is_no_disagreement(make_assistant, storm):
    (storm / "herald.txt").write_text(HERALD.replace("killed 15 people", "killed twelve people"))
    answer = make_assistant("The storm killed 12 people [1].").ask(TOLL)
    assert answer.disagreements == [] and "12 people" in answer.text


def test_a_figure_about_another_thing_is_no_disagreement(make_assistant, storm):
    (storm / "herald.txt").write_text(HERALD.replace("killed 15 people", "hurt 15 farmers"))
    answer = make_assistant("The storm killed 12 people [1].").ask(TOLL)
    assert answer.disagreements == []


def test_a_when_answer_gives_the_absolute_date_beside_the_articles_words(make_assistant, storm):
    answer = make_assistant("The storm swept through Kellerby on Sunday [1].").ask(
        "When did the storm sweep through Kellerby?")
    assert "on Sunday (3 March 2024)" in answer.text and not answer.disagreements
    assert date_right("2024-03-03", answer.text)


# Timelines ----------------------------------------------------------------------------------
def test_a_timeline_merges_one_days_reports_and_says_where_they_differ(make_assistant, storm):
    events = make_assistant().timeline("the storm in Kellerby")
    assert [e.date for e in events] == sorted(e.date for e in events)
    sunday = next(e for e in events if e.date == "2024-03-03")
    assert {c.source for c in sunday.citations} == {"courier.txt", "herald.txt"}
    assert "12 people" in sunday.differ and "15 people" in sunday.differ
    friday = next(e for e in events if e.date == "2024-03-08")
    assert "mayor" in friday.text and friday.when == "8 March 2024"


def test_a_timeline_topic_is_checked_like_a_question(make_assistant, storm):
    with pytest.raises(InputError, match="empty"):
        make_assistant().timeline("  ")


def test_the_timeline_endpoint_and_its_errors(make_assistant, storm):
    from conftest import free_port  # noqa: F401  (the API tests' server helper)
    from test_api import running
    from ui.api import create_api

    with running(create_api(make_assistant())) as url:
        ok = httpx.post(f"{url}/timeline", json={"topic": "the storm in Kellerby"}, timeout=60)
        bad = httpx.post(f"{url}/timeline", json={"subject": 3}, timeout=60)
    assert ok.status_code == 200 and ok.json()["object"] == "timeline"
    assert "2024-03-03" in [e["date"] for e in ok.json()["events"]]
    assert bad.status_code == 400 and "topic" in bad.json()["error"]["message"]


# The eval set's extra fields -----------------------------------------------------------------
def _line(**fields):
    base = {"id": "x", "question": "How many?", "answer": "12.", "must_include": ["12"],
            "sources": ["a.txt"], "answerable": True}
    return json.dumps({**base, **fields})


@pytest.mark.parametrize("fields, message", [
    ({"kind": "rumour"}, "kind must be one of"),
    ({"kind": "disagreement", "values": [{"value": "12", "source": "a.txt"}]}, "at least two"),
    ({"kind": "when", "date": "Tuesday"}, "YYYY-MM-DD"),
    ({"date": "2024-03-03"}, "only a when question"),
])
def test_a_malformed_kind_says_what_to_fix(fields, message):
    with pytest.raises(QAFileError, match=message):
        dataset.parse(_line(**fields), 3, where="news.jsonl:3")


def test_every_value_must_be_stated_beside_its_own_source():
    cites = [Citation(1, "a.txt", "p1", "", 0, 0, 0.0), Citation(2, "b.txt", "p2", "", 0, 0, 0.0)]
    values = [{"value": "12", "source": "a.txt"}, {"value": "15", "source": "b.txt"}]
    assert all_values(values, "One says 12 [1]. Another says 15 [2].", cites)
    assert not all_values(values, "One says 12 [2]. Another says 15 [1].", cites)
    assert not all_values(values, "One says 12 [1].", cites)
    assert date_right("2024-03-03", "on Sunday (3 March 2024)")
    assert date_right("2024-03-03", "on March 3, 2024") and not date_right("2024-03-03", "Sunday")


def test_the_chat_marks_a_disagreement_and_renders_a_timeline(make_assistant, storm):
    from ui import render

    a = make_assistant("The storm killed 12 people [1].")
    panel = render.sources(a.ask(TOLL))
    assert 'class="qa-differ"' in panel and "<b>15</b> [1]" in panel and "<b>12</b> [2]" in panel
    page = render.timeline(a.timeline("the storm in Kellerby"), "the storm in Kellerby")
    assert page.index("3 March 2024") < page.index("8 March 2024")
    assert "The reports differ: 12 people [1]; 15 people [2]" in page
    assert "no dated events" in render.timeline([], "nothing")
