"""The Python API with a fake embedder and a scripted LLM, on real Chroma and the real MiniLM
checks. Answers are about an invented article added to the seed copy."""
import json
import re

import pytest

from conftest import fake_embedder, scripted_llm
from qa import Answer, Assistant, prompts, text
from qa.errors import IndexMissingError, InputError
from qa.judge import REFUSAL, is_refusal

FERRY = """Ferry strike halts service to Dunmore Island

By Mara Quill, The Riverside Courier

Published March 3, 2025

Ferry crews on Dunmore Island walked off the job on Monday, halting all service to the mainland \
for the first time in a decade. The union said 240 workers joined the strike over unpaid \
overtime and missed safety checks on the older boats. Islanders queued at the pier for hours \
before the last crossing was cancelled.

Harbour master Lena Ortiz said the port would stay open for cargo ships, so food and fuel would \
still arrive. Talks between the union and the ferry company are set for Thursday in Port Alder, \
and the island council asked both sides to settle before the spring tourist season begins.
"""
QUESTION = "What happened in the Dunmore Island ferry strike?"
UNION = "The union said 240 workers joined the strike over unpaid overtime."
PORT = "Harbour master Lena Ortiz said the port would stay open for cargo ships."
TALKS = "Talks between the union and the ferry company are set for Thursday in Port Alder."
INVENTED = "The mayor of Glenhaven resigned over the strike."
LA_TIMES = "000_c3c1596244da0a4c.txt"


@pytest.fixture
def ferry(seeds):
    path = seeds / "ferry.txt"
    path.write_text(FERRY)
    return path


def ferry_passages(a):
    return [p for p in a.reading.passages if p.source == "ferry.txt"]


# The collection ----------------------------------------------------------------------------
def test_no_index_tells_the_user_to_run_qa_index(tmp_path):
    with pytest.raises(IndexMissingError, match="Run `qa index`"):
        Assistant(data_dir=tmp_path / "empty")


def test_reindex_is_incremental(make_assistant, seeds, ferry):
    a = make_assistant()
    total, calls = a.store.count(), a.embedder.calls
    assert total > 10 and len(a.articles()) == 4

    again = a.index([seeds])
    assert (again.added, again.removed, again.unchanged) == (0, 0, total)
    assert a.embedder.calls == calls  # nothing embedded

    ferry.write_text(FERRY.replace("tourist season", "fishing season"))
    changed = a.index([seeds])
    assert (changed.added, changed.removed, changed.unchanged) == (1, 1, total - 1)
    assert a.embedder.calls == calls + 1 and a.store.count() == total

    ferry.unlink()
    assert a.index([seeds], prune=False).removed == 0
    pruned = a.index([seeds])
    assert pruned.removed == 2 and a.store.count() == total - 2
    assert "ferry.txt" not in {x.source for x in a.articles()}


def test_an_interrupted_build_is_finished_by_the_next_run(make_assistant, seeds):
    a = make_assistant()
    ids = sorted(p.id for p in a.store.passages())
    a.store.delete(ids[::3])  # as if killed half-way through embedding
    assert a.index([seeds]).added == len(ids[::3])
    assert sorted(p.id for p in a.store.passages()) == ids


def test_remove_by_file_name_or_path(make_assistant, seeds, ferry):
    a = make_assistant()
    total = a.store.count()
    assert a.remove(["ferry.txt"]) == 2 and a.store.count() == total - 2
    assert "ferry.txt" not in {x.source for x in a.articles()} and not ferry_passages(a)
    assert a.remove(["no-such-article.txt"]) == 0
    a.index([seeds])
    assert a.remove([str(ferry.resolve())]) == 2 and a.store.count() == total - 2


def test_articles_are_listed_in_reading_order_with_title_outlet_date_and_counts(
        make_assistant, seeds, ferry):
    a = make_assistant()
    (seeds / "0_late.txt").write_text("Bakery wins prize\n\nA bakery in Port Alder won a prize.\n")
    a.index([seeds])
    listed = a.articles()
    assert [x.source for x in listed] == sorted(f.name for f in seeds.iterdir()
                                                if f.name != "0_late.txt") + ["0_late.txt"]
    la = listed[0]
    assert (la.source, la.outlet, la.date) == (LA_TIMES, "Los Angeles Times", "2024-10-01")
    ferry_info = next(x for x in listed if x.source == "ferry.txt")
    assert (ferry_info.title, ferry_info.outlet, ferry_info.date, ferry_info.passages) == (
        "Ferry strike halts service to Dunmore Island", "The Riverside Courier", "2025-03-03", 2)
    assert sum(x.passages for x in listed) == a.store.count()

    with open(seeds / LA_TIMES, "a") as f:  # a changed article keeps its place
        f.write("\n\nAn invented closing paragraph about the weather.\n")
    a.index([seeds])
    assert [x.source for x in a.articles()] == [x.source for x in listed]


def test_index_and_remove_refresh_the_models_reading(make_assistant, seeds, tmp_path):
    a = make_assistant()
    reading = tmp_path / "data" / "reading.json"

    def sources():
        return {p["source"] for p in json.loads(reading.read_text())}

    assert sources() == {f.name for f in seeds.iterdir()}
    assert a.llm.prepared[-1] == (a.reading.messages(), "collection")
    (seeds / "ferry.txt").write_text(FERRY)
    a.index([seeds])
    assert "ferry.txt" in sources()
    assert "Ferry strike halts service" in a.llm.prepared[-1][0][0]["content"]
    a.remove(["ferry.txt"])
    assert "ferry.txt" not in sources()
    assert "Ferry strike halts service" not in a.llm.prepared[-1][0][0]["content"]

    retrieving = make_assistant(caches_prefix=False)  # nothing to keep evaluated
    assert retrieving.llm.prepared == [] and sources() == {f.name for f in seeds.iterdir()}


def test_removing_every_article_leaves_an_index_that_says_run_qa_index(make_assistant, seeds):
    a = make_assistant()
    a.remove([f.name for f in seeds.iterdir()])
    assert a.articles() == [] and a.reading.passages == []
    with pytest.raises(IndexMissingError, match="qa index"):
        a.ask(QUESTION)


def test_a_corrected_date_reaches_every_passage_of_the_article(make_assistant, seeds, ferry):
    a = make_assistant()
    ferry.write_text(FERRY.replace("March 3, 2025", "March 4, 2025"))
    a.index([seeds])
    assert {p.date for p in a.store.passages() if p.source == "ferry.txt"} == {"2025-03-04"}


# Answers and their citations ---------------------------------------------------------------
def test_an_answer_from_a_seed_passage_cites_that_passage(make_assistant, seeds):
    a = make_assistant()
    passage = next(p for p in a.reading.passages if "sirens" in p.text)
    first, second = [s for s in text.sentences(passage.text) if "retaliat" in s][:2]
    a = make_assistant(f"{first} {second}")
    answer = a.ask("How did Israel react to the Iranian attack?")
    assert answer.text == f"{first[:-1]} [1]. {second[:-1]} [1]."
    [c] = answer.citations
    assert (c.number, c.source, c.passage_id) == (1, LA_TIMES, passage.id)
    assert (seeds / LA_TIMES).read_text()[c.start:c.end] == c.text == passage.text
    assert c.quote in c.text and (c.outlet, c.date) == ("Los Angeles Times", "2024-10-01")


def test_citations_are_renumbered_in_order_of_first_use(make_assistant, ferry):
    reply = f"{PORT} {UNION[:-1]} [7]. {TALKS}"
    a = make_assistant(reply)
    *streamed, answer = a.stream(QUESTION)
    assert "".join(streamed) == reply and isinstance(answer, Answer) and not answer.abstained
    assert answer.text == f"{PORT[:-1]} [1]. {UNION[:-1]} [2]. {TALKS[:-1]} [1]."
    second, first = ferry_passages(a)[1], ferry_passages(a)[0]
    assert [(c.number, c.passage_id) for c in answer.citations] == [(1, second.id),
                                                                    (2, first.id)]
    for c in answer.citations:
        assert FERRY[c.start:c.end] == c.text and c.quote in c.text
    assert answer.citations[1].quote.startswith("The union said 240 workers")
    assert set(answer.timings) == {"retrieve_s", "first_token_s", "total_s"}


@pytest.mark.parametrize("reply", [UNION, f"{UNION[:-1]} [2].", f"(1) {UNION[:-1]} [9]."])
def test_the_models_own_marks_do_not_decide_the_citation(make_assistant, ferry, reply):
    answer = make_assistant(reply).ask(QUESTION)
    assert answer.text == f"{UNION[:-1]} [1]."
    assert (answer.citations[0].source, answer.citations[0].start) == ("ferry.txt", 0)


def test_a_sentence_no_passage_states_is_dropped(make_assistant, ferry):
    answer = make_assistant(f"{UNION} {INVENTED}").ask(QUESTION)
    assert answer.text == f"{UNION[:-1]} [1]." and len(answer.citations) == 1
    assert any("Glenhaven" in note for note in answer.notes)
    assert answer.candidates == [f"{UNION} {INVENTED}"]


@pytest.mark.parametrize("reply", [
    INVENTED, "The articles do not say how many workers joined [1].", "I don't know.", ""])
def test_an_answer_left_with_nothing_is_the_refusal(make_assistant, ferry, reply):
    answer = make_assistant(reply).ask(QUESTION)
    assert (answer.text, answer.abstained, answer.citations) == (REFUSAL, True, [])


@pytest.mark.parametrize("reply", [
    "The articles do not say.", "The name is not provided in the given sources.",
    "None of the sources mention it.", "The passages do not name the commander [1]."])
def test_refusal_wordings_are_recognised(reply):
    assert is_refusal(reply)
    assert not is_refusal(f"{UNION} It did not say why.")


def test_an_answer_that_starts_with_none_is_not_a_refusal():
    assert not is_refusal("None of the boats sank in the storm [1].")


@pytest.mark.parametrize("question,reply,answered", [
    ("Who said the port would stay open for cargo ships?", PORT, True),
    ("How many workers joined the strike?", UNION, True),
    ("Who said the port would stay open for cargo ships?",  # a name may start a sentence
     "Ortiz said the port would stay open for cargo ships.", True),
    ("Who said the port would stay open for cargo ships?",  # a speaker the article lacks
     "The fire chief said the port would stay open for cargo ships.", False),
    ("What did Mayor Tom Reyes say about the port?",  # someone the article never mentions
     "Mayor Tom Reyes said the port would stay open for cargo ships.", False),
    ("How many workers joined the strike?", "The union said 250 workers joined.", False),
    ("How many workers joined the strike?", "The union said many workers joined.", False),
    ("What did Lena Ortiz say about the port?",
     'Lena Ortiz said the port would "never close to cargo ships".', False),
])
def test_the_checks_hold_end_to_end(make_assistant, ferry, question, reply, answered):
    assert make_assistant(reply).ask(question).abstained is not answered


def test_answer_to_dict_has_citations_with_title_outlet_and_date(make_assistant, ferry):
    answer = make_assistant(UNION).ask(QUESTION)
    d = json.loads(json.dumps(answer.to_dict()))
    assert set(d) == {"question", "answer", "abstained", "citations", "timings", "model",
                      "searched"}
    assert (d["question"], d["answer"], d["abstained"], d["model"]) == (
        QUESTION, f"{UNION[:-1]} [1].", False, "scripted")
    [c] = d["citations"]
    assert (c["title"], c["outlet"], c["date"], c["source"]) == (
        "Ferry strike halts service to Dunmore Island", "The Riverside Courier", "2025-03-03",
        "ferry.txt")


# What the model reads -----------------------------------------------------------------------
def test_focus_shows_the_best_sentence_of_each_best_matching_article_with_the_question(
        make_assistant, ferry):
    a = make_assistant(UNION, focus=2)
    a.ask(QUESTION)
    turn = a.llm.prompts[0][0][-1]["content"]
    head, question = turn.split("\n\nQuestion: ")
    assert question == QUESTION and head.startswith("Passages that bear on it:\n")
    shown = head.splitlines()[1:]
    assert len(shown) == 2 and all(re.match(r"\[\d+\] \S", line) for line in shown)
    numbers = [int(re.match(r"\[(\d+)\]", line).group(1)) for line in shown]
    articles = {a.reading.passages[n - 1].path for n in numbers}
    assert len(articles) == 2  # one sentence per article, from two different articles


def test_the_prompt_holds_every_passage_numbered_under_its_article_header(make_assistant, ferry):
    a = make_assistant(UNION, focus=0)
    answer = a.ask(QUESTION)
    [[system, turn]] = a.llm.prompts[0]
    assert turn == {"role": "user", "content": f"Question: {QUESTION}"}
    content = system["content"]
    assert content.startswith(prompts.RULES) and content.count("Article: ") == 4
    assert ('Article: "Ferry strike halts service to Dunmore Island" (The Riverside Courier, '
            'Monday, March 3, 2025)') in content
    assert "(Los Angeles Times, Tuesday, October 1, 2024)" in content
    at = 0
    for n, p in enumerate(a.reading.passages, start=1):
        where = content.index(f"[{n}] {prompts.quoted(' '.join(p.text.split()))}", at)
        assert content[content.rindex("Article: ", 0, where):].startswith(f'Article: "{p.title}')
        at = where
    assert sorted(p.id for p in answer.passages) == sorted(p.id for p in a.reading.passages)
    assert len(answer.passages) == a.store.count()


def test_the_retrieval_path_shows_the_excerpts_delimited_as_data(make_assistant, ferry):
    a = make_assistant(UNION, caches_prefix=False)
    answer = a.ask(QUESTION)
    [prompt] = a.llm.prompts[0]
    assert prompt[0] == {"role": "system", "content": prompts.RULES}
    turn = prompt[-1]["content"]
    assert turn.startswith("Passages:\n\n") and turn.endswith(f"\n\nQuestion: {QUESTION}")
    assert 1 <= len(answer.passages) <= a.config.top_k
    for n, p in enumerate(answer.passages, start=1):
        assert f'[{n}] From "{p.title}' in turn and f'\n"""\n{p.text.strip()}\n"""' in turn
    assert answer.text == f"{UNION[:-1]} [1]." and a.llm.prepared == []
    [c] = answer.citations
    assert FERRY[c.start:c.end] == c.text and UNION[:-1] in c.text


def test_an_off_topic_question_is_refused_without_the_llm(make_assistant, tmp_path):
    make_assistant(caches_prefix=False)
    llm = scripted_llm("Paris is the capital of France [1].", caches_prefix=False)
    a = Assistant(data_dir=tmp_path / "data", embed_model=fake_embedder(), language_model=llm,
                  min_similarity=0.99)
    *streamed, answer = a.stream("What is the capital of France?")
    assert streamed == [REFUSAL] and answer.abstained and answer.text == REFUSAL
    assert llm.prompts == []


def test_each_part_of_a_question_gets_a_candidate(make_assistant, ferry):
    a = make_assistant(UNION, focus=0)
    a.ask("How many workers joined the strike, and when are the talks set?")
    assert [p[-1]["content"] for p in a.llm.prompts[0]] == [
        "Question: How many workers joined the strike, and when are the talks set?",
        "Question: How many workers joined the strike?", "Question: When are the talks set?"]


def test_a_second_round_of_candidates_only_when_the_first_does_not_hold_up(make_assistant, ferry):
    held = make_assistant(UNION)
    held.ask(QUESTION)
    assert len(held.llm.prompts) == 1

    failed = make_assistant(INVENTED, answers=3)  # up to two more, each pointed at a passage
    failed.ask(QUESTION)
    first, second = failed.llm.prompts
    assert len(first) == 1 and 1 <= len(second) <= 2
    pointed = rf"Question: {re.escape(QUESTION)} \(See passage \[\d+\]\.\)"
    assert all(re.fullmatch(pointed, p[-1]["content"]) for p in second)

    greedy = make_assistant(INVENTED, answers=1)
    greedy.ask(QUESTION)
    assert len(greedy.llm.prompts) == 1


def test_on_the_retrieval_path_the_second_round_reads_the_excerpts_in_reverse(make_assistant,
                                                                              ferry):
    a = make_assistant(INVENTED, caches_prefix=False, answers=3)
    a.ask(QUESTION)
    [[first], [second]] = a.llm.prompts
    order = [re.findall(r"^\[(\d+)\] From", p[-1]["content"], re.M) for p in (first, second)]
    assert len(order[0]) > 1 and order[1] == order[0][::-1]


def test_a_follow_up_is_rewritten_into_a_standalone_question(make_assistant, ferry):
    rewrite = "How many workers joined the Dunmore Island ferry strike?"
    history = [("What happened on Dunmore Island?", "Ferry crews walked off the job [1].")]
    a = make_assistant(rewrite, UNION, focus=0)
    answer = a.ask("How many joined it?", history=history)
    [condense], [asked] = a.llm.prompts
    assert condense[-1]["content"].endswith(
        "User: What happened on Dunmore Island?\nAssistant: Ferry crews walked off the job."
        "\n\nLast question: How many joined it?")
    assert asked[-1]["content"] == f"Question: {rewrite}"
    assert (answer.question, answer.searched) == ("How many joined it?", rewrite)
    assert answer.text == f"{UNION[:-1]} [1]."

    answered_instead = make_assistant("240 workers joined.", UNION)  # no question: not used
    assert answered_instead.ask("How many joined it?", history).searched == "How many joined it?"


@pytest.mark.parametrize("question,match", [
    ("", "The question is empty"), ("   \n", "The question is empty"),
    ("x" * 1001, r"the limit is 1,000\. .*--max-question-chars")])
def test_bad_questions_get_clear_errors(make_assistant, question, match):
    a = make_assistant(UNION)
    with pytest.raises(InputError, match=match):
        a.ask(question)
    assert a.llm.prompts == []
