"""The evaluation harness: scorers on hand-made answers, the Q&A loader, and whole runs."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SEEDS
from eval import dataset
from eval import score as S
from eval.run import run
from qa.cli import main
from qa.errors import QAFileError
from qa.types import Answer, Citation, Passage

MISSILES = "001_0c16718d7dae18e4.txt"
LA_TIMES = "000_c3c1596244da0a4c.txt"


def passage(source, text, pid=None):
    return Passage(id=pid or f"{source}:{hash(text)}", source=source, title="", text=text,
                   start=0, end=len(text))


def cite(number, p):
    return Citation(number=number, source=p.source, passage_id=p.id, text=p.text, start=p.start,
                    end=p.end, score=0.5)


def answer(text, cited=(), shown=(), abstained=False):
    return Answer(question="q", text=text, abstained=abstained,
                  citations=[cite(i, p) for i, p in enumerate(cited, start=1)],
                  passages=list(shown or cited))


def question(must_include=("400",), sources=(MISSILES,), answerable=True, ref="Iran fired 400."):
    return dataset.Question(id="x", question="q", answer=ref, must_include=list(must_include),
                            sources=list(sources), answerable=answerable)


BARRAGE = passage(MISSILES, "On October 1, Iran launched 400 ballistic missiles at Israel.")
GEDERA = passage(MISSILES, "A school building in the southern city of Gedera was hit.")
OTHER = passage(LA_TIMES, "Khaled was lashing suitcases onto the Citroen van.")


# Scorers ------------------------------------------------------------------------------------
def test_a_correct_cited_answer_scores_full_marks():
    m = S.score(question(["400", "ballistic"], ref="Iran fired 400 ballistic missiles."),
                answer("Iran fired 400 ballistic missiles [1].", [BARRAGE]))
    assert m["correct"] and m["passed"] and not m["abstained"] and m["missing"] == []
    assert (m["citation_precision"], m["citation_recall"]) == (1.0, 1.0)
    assert m["f1"] == 1.0  # citation marks and "the/a" are not words of the answer
    assert (m["hit"], m["answer_hit"], m["rr"]) == (True, True, 1.0)
    assert m["refused"] is None  # a metric of unanswerable questions only


def test_each_miss_is_put_down_to_retrieval_the_reader_or_the_checks():
    q = question(["400", "ballistic"])
    unread = answer("The articles do not say.", shown=[OTHER])
    assert S.score(q, unread)["miss"] == "retrieval"
    read = answer("The articles do not say.", shown=[BARRAGE])
    read.candidates = ["Iran fired missiles."]
    assert S.score(q, read)["miss"] == "reader"
    read.candidates = ["Iran fired 400 missiles.", "They were ballistic missiles."]
    assert S.score(q, read)["miss"] == "decision"  # written, then cut
    assert S.score(q, answer("Iran fired 400 ballistic missiles [1].", [BARRAGE]))["miss"] is None
    assert S.score(q, read)["multipart"] and not S.score(question(["400"]), read)["multipart"]


def test_a_missing_fact_makes_the_answer_wrong_but_still_scores_its_citations():
    m = S.score(question(["400", "Gedera"]), answer("Iran fired 400 missiles [1].", [BARRAGE]))
    assert not m["correct"] and m["stated"] == ["400"] and m["missing"] == ["Gedera"]
    assert (m["citation_precision"], m["citation_recall"]) == (1.0, 1.0)
    assert 0 < m["f1"] < 1


def test_a_wrong_citation_scores_zero_precision_and_recall():
    m = S.score(question(["400"]), answer("Iran fired 400 missiles [1].", [OTHER]))
    assert m["correct"]  # the text is right ...
    assert (m["citation_precision"], m["citation_recall"]) == (0.0, 0.0)  # ... its source is not


def test_a_gold_source_citation_is_precise_when_its_sentence_states_a_fact():
    # GEDERA lacks "400" but is from the gold article and cited by the sentence stating it.
    m = S.score(question(["400"]), answer("Iran fired 400 missiles [1][2].", [GEDERA, OTHER]))
    assert m["citation_precision"] == 0.5  # GEDERA yes, OTHER (another article) no
    assert m["citation_recall"] == 0.0  # no cited passage holds "400"


def test_an_uncited_answer_has_no_precision_and_zero_recall():
    m = S.score(question(["400"]), answer("Iran fired 400 missiles.", shown=[BARRAGE]))
    assert m["citation_precision"] is None and m["citation_recall"] == 0.0


def test_refusals_count_for_unanswerable_and_against_answerable_questions():
    refusal = answer("The articles do not say.", shown=[OTHER], abstained=True)
    m = S.score(question([], [], answerable=False), refusal)
    assert m["refused"] and m["passed"] and m["correct"] is None and m["hit"] is None

    m = S.score(question(["400"]), refusal)
    assert m["wrongly_refused"] and not m["correct"] and not m["passed"]
    assert m["citation_precision"] is None and m["citation_recall"] is None
    assert (m["hit"], m["rr"]) == (False, 0.0)  # retrieval is scored even when refused

    answered = answer("Iran fired 400 missiles [1].", [BARRAGE])
    m = S.score(question([], [], answerable=False), answered)
    assert not m["refused"] and not m["passed"]


@pytest.mark.parametrize("fact,text,found", [
    ("1,000", "more than 1000 people", True),
    ("1000", "more than 1,000 people", True),
    ("1,000 miles", "more than 1,000 miles away", True),
    ("1,000", "more than 10,000 people", False),  # part of a longer number
    ("55", "at least 155 deaths", False),
    ("Revolutionary Guard|IRGC", "the IRGC said", True),
    ("Revolutionary Guard|IRGC", "Iran's Islamic revolutionary guard corps", True),
    ("Revolutionary Guard|IRGC", "the army said", False),
    ("UN|United Nations", "an unprecedented attack", False),  # short items are whole words
    ("UN|United Nations", "the UN called for restraint", True),
    ("plane", "Netanyahu's airplane", True),  # longer ones may sit inside a word
    ("cease-fire|ceasefire", "a cease fire now", True),
    ("committed to Israel", "committed to Israel’s defense", True),
    ("Oct. 7", "the Oct. 7 assault [2]", True),
    ("3", "three teams [3]", False),  # a citation mark is not part of the answer
])
def test_fact_matching(fact, text, found):
    assert S.present(fact, S.normalize(text)) is found


def test_retrieval_metrics_use_rank_and_every_fact_across_the_passages_shown():
    m = S.retrieval([OTHER, GEDERA, BARRAGE], ["400", "Gedera"], [MISSILES])
    assert m == {"hit": True, "answer_hit": True, "rr": 0.5}
    m = S.retrieval([OTHER, GEDERA], ["400", "Gedera"], [MISSILES])
    assert m == {"hit": True, "answer_hit": False, "rr": 0.5}


def test_sentences_keep_their_citations_and_ignore_abbreviations():
    text = "Hamas attacked on Oct. 7 [1]. U.S. troops came. [2] Biden spoke [1][3]."
    assert S.sentences(text) == ["Hamas attacked on Oct. 7 [1].", "U.S. troops came. [2]",
                                 "Biden spoke [1][3]."]
    assert S.cited_numbers("a [1, 3] b [Source 2]") == [1, 3, 2]


# The Q&A file -------------------------------------------------------------------------------
GOOD = {"id": "a", "question": "How many missiles?", "answer": "400.", "must_include": ["400"],
        "sources": [MISSILES], "answerable": True}


def bad(**changes):
    line = {**GOOD, "id": "b", **changes}
    return json.dumps({k: v for k, v in line.items() if v is not ...})


@pytest.mark.parametrize("line,message", [
    ("{not json", "not valid JSON"),
    (bad(sources=...), "missing field sources"),
    (bad(note="x"), "unknown field note"),
    (bad(answerable="yes"), 'answerable must be true or false, not "yes"'),
    (bad(answerable=1), "answerable must be true or false, not 1"),
    (bad(must_include="400"), "must_include must be a list"),
    (bad(sources=[3]), "sources must hold only non-empty strings"),
    (bad(question="  "), "question is empty"),
    (bad(id="a"), "duplicate id 'a' (first on line 1)"),
    (bad(sources=[]), "answerable question needs at least one source"),
    (bad(must_include=[]), "answerable question needs at least one source"),
    (bad(answerable=False), "unanswerable question must have empty sources"),
    (bad(must_include=["400|"]), "empty alternative"),
    ("[1, 2]", "expected a JSON object"),
])
def test_a_malformed_line_names_the_file_and_line(tmp_path, line, message):
    f = tmp_path / "set.jsonl"
    f.write_text(json.dumps(GOOD) + "\n\n" + line + "\n")  # the blank line still counts
    with pytest.raises(QAFileError) as e:
        dataset.load(f)
    assert str(e.value).startswith(f"{f}:3: ") and message in str(e.value)


def test_a_missing_or_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(QAFileError, match="No Q&A file"):
        dataset.load(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(QAFileError, match="no questions"):
        dataset.load(tmp_path / "empty.jsonl")


def test_cli_reports_a_bad_file_in_one_line_before_opening_anything(tmp_path, capsys):
    f = tmp_path / "set.jsonl"
    f.write_text(json.dumps(GOOD) + "\n" + bad(answerable="yes") + "\n")
    # No index in this data dir: the file is checked before the index or a model is touched.
    assert main(["eval", "--qa", str(f), "--data-dir", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {f}:2: answerable must be") and err.count("\n") == 1
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("name,count", [("qa.jsonl", 74), ("heldout.jsonl", 46)])
def test_the_hand_written_sets_are_consistent_with_the_seeds(name, count):
    questions = dataset.load(dataset.DEFAULT_FILE.parent / name)
    assert len(questions) == count and len({q.id for q in questions}) == count
    articles = {p.name: S.normalize(p.read_text()) for p in SEEDS.glob("*.txt")}
    for q in questions:
        if not q.answerable:
            continue
        assert S.facts_in(q.must_include, q.answer) == q.must_include, q.id  # reference states all
        for fact in q.must_include:  # and every fact is in one of its sources
            assert any(S.present(fact, articles[s]) for s in q.sources), (q.id, fact)


def test_the_held_out_set_shares_no_question_with_the_tuning_set():
    tuning = [q.question for q in dataset.load()]
    held_out = dataset.load(dataset.DEFAULT_FILE.parent / "heldout.jsonl")
    assert sum(not q.answerable for q in held_out) >= 8
    close = [(q.id, round(max(dataset.overlap(q.question, t) for t in tuning), 2))
             for q in held_out if any(dataset.overlap(q.question, t) > 0.5 for t in tuning)]
    assert close == []


def test_the_second_held_out_set_is_consistent_with_its_pages():
    # eval/heldout2: real news pages (HTML as published); facts are matched in the text the
    # loader extracts from them, as an index of that folder would hold it
    from index.load import read_article

    folder = ROOT / "eval" / "heldout2"
    questions = dataset.load(folder / "qa.jsonl")
    assert len(questions) >= 40 and len({q.id for q in questions}) == len(questions)
    assert 4 * sum(not q.answerable for q in questions) >= len(questions)  # a quarter or more
    articles = {p.name: S.normalize(read_article(p).text)
                for p in (folder / "articles").glob("*.html")}
    assert len(articles) >= 3
    for q in questions:
        assert set(q.sources) <= set(articles), q.id
        if not q.answerable:
            continue
        assert S.facts_in(q.must_include, q.answer) == q.must_include, q.id  # reference states all
        for fact in q.must_include:  # and every fact is in one of its sources
            assert any(S.present(fact, articles[s]) for s in q.sources), (q.id, fact)


def test_overlap_counts_the_shared_content_words_of_the_first_question():
    assert dataset.overlap("How many boats sank in the harbour?", "Which boats left the harbour?") == 2 / 3
    assert dataset.overlap("Who won?", "Who lost?") == 0.0


# Whole runs ---------------------------------------------------------------------------------
TINY = [
    {"id": "m1", "question": "How many ballistic missiles did Iran fire at Israel?",
     "answer": "Iran fired 400 ballistic missiles.", "must_include": ["400"],
     "sources": [MISSILES], "answerable": True},
    {"id": "m2", "question": "What sort of vehicle did Khaled tie the suitcases to?",
     "answer": "A Citroen van.", "must_include": ["Citroen"], "sources": [LA_TIMES],
     "answerable": True},
    {"id": "m3", "question": "What colour was the Abdo family van?",
     "answer": "The articles do not say.", "must_include": [], "sources": [], "answerable": False},
]


def write_set(tmp_path, lines=TINY):
    f = tmp_path / "tiny.jsonl"
    f.write_text("".join(json.dumps(q) + "\n" for q in lines))
    return f


def test_a_whole_run_writes_consistent_files(make_assistant, tmp_path, capsys):
    a = make_assistant("Iran fired 400 ballistic missiles at Israel [1].")
    out = tmp_path / "run"
    assert run(None, qa_file=str(write_set(tmp_path)), out=str(out), baseline=True,
               assistant=a, progress=False) == 0
    check_run(out, questions=3, answerable=2)

    rows = [json.loads(ln) for ln in (out / "results.jsonl").read_text().splitlines()]
    mine = {r["id"]: r for r in rows if r["system"] == "assistant"}
    assert mine["m1"]["metrics"]["correct"] and mine["m1"]["citations"][0]["source"] == MISSILES
    assert mine["m1"]["streamed"].startswith("Iran fired 400")
    assert not mine["m2"]["metrics"]["correct"]
    # The baseline ran on the same LLM object, with llama-index's citation prompt.
    assert any("Source 1:" in m["content"] for call in a.llm.prompts for prompt in call
               for m in prompt)
    printed = capsys.readouterr().out
    assert "| Correct, answerable |" in printed and "Δ assistant − baseline" in printed


def test_a_run_without_baseline_and_with_limit(make_assistant, tmp_path):
    a = make_assistant("Iran fired 400 ballistic missiles at Israel [1].")
    out = tmp_path / "run"
    run(None, qa_file=str(write_set(tmp_path)), out=str(out), limit=2, assistant=a,
        progress=False)
    summary = check_run(out, questions=2, answerable=2)
    assert list(summary["systems"]) == ["assistant"] and "difference" not in summary
    assert summary["systems"]["assistant"]["refused_rate"] is None  # no unanswerable question


def test_a_source_that_is_not_indexed_is_named(make_assistant, tmp_path):
    f = write_set(tmp_path, [TINY[0], {**TINY[1], "sources": ["gone.txt"]}])
    with pytest.raises(QAFileError, match=r"tiny.jsonl:2: source 'gone.txt' is not indexed"):
        run(None, qa_file=str(f), out=str(tmp_path / "run"), assistant=make_assistant("x"))


def test_the_decision_is_fitted_on_runs_and_each_set_scored_fitted_without_it(
        make_assistant, tmp_path, capsys):
    from eval import ablation, fit

    a = make_assistant("Iran fired 400 ballistic missiles at Israel [1].")
    runs = []
    for name, lines in (("one", TINY[:1] + TINY[2:]), ("two", TINY[:2])):
        f = tmp_path / name / "qa.jsonl"
        f.parent.mkdir()
        f.write_text("".join(json.dumps(q) + "\n" for q in lines))
        run(None, qa_file=str(f), out=str(tmp_path / f"run-{name}"), assistant=a,
            progress=False)
        runs.append(str(tmp_path / f"run-{name}"))
    capsys.readouterr()
    asked = len(a.llm.prompts)
    name, items = fit.load_run(runs[0], a)
    assert name == "one" and [it.question.id for it in items] == ["m1", "m3"]
    assert any(y == 1 for it in items for ys in it.labels for y in ys)  # the 400 claim
    assert all(y == 0 for ys in items[1].labels for y in ys)  # unanswerable: nothing is right
    assert fit.run(None, runs, write=False, assistant=a) == 0
    printed = capsys.readouterr().out
    assert "today's checks" in printed and "each set held out" in printed
    assert "| one | 1/1 |" in printed and "| two |" in printed
    assert ablation.run(None, runs, assistant=a) == 0
    printed = capsys.readouterr().out
    assert "| all features |" in printed and all(f"| without {n} |" in printed
                                                 for n in fit.FEATURES)
    assert len(a.llm.prompts) == asked  # the stored candidates are judged, none written


@pytest.mark.parametrize("path,name", [
    ("eval/qa.jsonl", "own"), ("eval/heldout.jsonl", "heldout"),
    ("eval/heldout2/qa.jsonl", "heldout2"), ("/x/mine.jsonl", "mine")])
def test_each_set_is_decided_by_the_decision_fitted_without_it(path, name, monkeypatch,
                                                                tmp_path):
    from eval.run import held_out
    from qa.config import Config

    assert dataset.set_name(path) == name
    monkeypatch.setattr(dataset, "DECISIONS", tmp_path)
    fitted = Config(decision="fitted")
    assert held_out(fitted, Path(path)).decision == "fitted"  # none fitted: the shipped one
    (tmp_path / f"without-{name}.json").write_text("{}")
    monkeypatch.setattr("eval.run.ROOT", tmp_path.parent)
    assert held_out(fitted, Path(path)).decision == str(tmp_path / f"without-{name}.json")
    for kept in ("checks", "mine.json"):
        assert held_out(Config(decision=kept), Path(path)).decision == kept


def check_run(out, questions: int, answerable: int) -> dict:
    """The run's files exist and agree with each other; returns summary.json."""
    for name in ("results.jsonl", "summary.json", "report.md", "metrics.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    for name in ("metrics.png", "latency.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    rows = [json.loads(ln) for ln in (out / "results.jsonl").read_text().splitlines()]
    systems = summary["systems"]
    assert len(rows) == questions * len(systems)
    report = (out / "report.md").read_text()
    for name, figs in systems.items():
        mine = [r for r in rows if r["system"] == name]
        assert [r["id"] for r in mine] == [r["id"] for r in rows[:questions]]
        assert (figs["questions"], figs["answerable"]) == (questions, answerable)
        assert figs["unanswerable"] == questions - answerable
        assert figs["correct"] == sum(bool(r["metrics"]["correct"]) for r in mine)
        assert figs["passed"] == sum(r["metrics"]["passed"] for r in mine)
        assert figs["accuracy"] == pytest.approx(figs["passed"] / questions, abs=1e-4)
        assert 0 <= figs["first_token_median_s"] <= figs["total_p95_s"]
        assert all(r["timings"]["first_token_s"] <= r["timings"]["total_s"] for r in mine)
        assert all(r["timings"]["cpu_s"] >= 0 and r["load_1m"] >= 0 for r in mine)
        assert figs["cpu_median_s"] is not None and figs["load_1m_mean"] is not None
        assert set(S.METRICS) == set(mine[0]["metrics"])
        failed = [r["id"] for r in mine if not r["metrics"]["passed"]]
        assert f"## Failures: {name} ({len(failed)} of {questions})" in report
        assert all(f"**{qid}**" in report for qid in failed)
    run_info = summary["run"]
    assert run_info["questions"] == questions and run_info["machine"]["cores"] >= 1
    return summary


@pytest.mark.slow
def test_qa_eval_with_the_real_models_and_the_baseline(seed_index, tmp_path):
    out = tmp_path / "run"
    r = subprocess.run(
        [sys.executable, "-m", "qa.cli", "eval", "--limit", "5", "--baseline",
         "--data-dir", str(seed_index), "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=3600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    first5 = dataset.load()[:5]
    summary = check_run(out, questions=5, answerable=sum(q.answerable for q in first5))
    assert list(summary["systems"]) == ["assistant", "baseline"]
    assert summary["systems"]["baseline"]["k"] == 2  # llama-index's default, untouched
    assert summary["run"]["model"] and summary["run"]["passages_indexed"] > 0
    assert "| hit@k |" in r.stdout and "baseline" in r.stderr  # table printed, progress shown
