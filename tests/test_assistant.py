"""The Python API with a fake embedder and a scripted LLM, on real Chroma and the real MiniLM
checks. Answers are about an invented article added to the seed copy."""
import json
import re

import pytest

from conftest import fake_embedder, scripted_llm
from qa import Answer, Assistant, prompts, text
from qa.errors import IndexMissingError, InputError
from qa.judge import REFUSAL, header, is_refusal

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
    """The ferry article's passages as stored, and as retrieval can still find them."""
    return [p for p in a.store.passages() + a.retrieve(QUESTION) if p.source == "ferry.txt"]


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


def test_index_and_remove_refresh_what_the_model_reads(make_assistant, seeds, tmp_path):
    a = make_assistant()
    vectors = tmp_path / "data" / "sentences"

    def read_titles():
        return {line for block in a.llm.read_blocks[-1] for line in block.splitlines()
                if line.startswith("Article: ")}

    assert len(read_titles()) == 3 and len(list(vectors.glob("*.npy"))) == a.store.count()
    (seeds / "ferry.txt").write_text(FERRY)
    a.index([seeds])
    assert any("Ferry strike halts service" in t for t in read_titles())
    assert len(list(vectors.glob("*.npy"))) == a.store.count()
    a.remove(["ferry.txt"])
    a.read()  # removing reads nothing; the next reading forgets it
    assert not any("Ferry strike halts service" in t for t in read_titles())
    assert len(list(vectors.glob("*.npy"))) == a.store.count()  # its vectors went with it

    hosted = make_assistant(reads_ahead=False)  # a backend that keeps nothing: nothing to read
    assert hosted.llm.read_blocks == []


def test_removing_every_article_leaves_an_index_that_says_run_qa_index(make_assistant, seeds):
    a = make_assistant()
    a.remove([f.name for f in seeds.iterdir()])
    assert a.articles() == [] and a.store.passages() == []
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
    passage = next(p for p in a.store.passages() if "sirens" in p.text)
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
    # The article's "Thursday" is given its date beside it (index/dates.py, qa/when.py).
    talks = TALKS[:-1].replace("Thursday", "Thursday (6 March 2025)")
    assert answer.text == f"{PORT[:-1]} [1]. {UNION[:-1]} [2]. {talks} [1]."
    second, first = ferry_passages(a)[1], ferry_passages(a)[0]
    assert [(c.number, c.passage_id) for c in answer.citations] == [(1, second.id),
                                                                    (2, first.id)]
    for c in answer.citations:
        assert FERRY[c.start:c.end] == c.text and c.quote in c.text
    assert answer.citations[1].quote.startswith("The union said 240 workers")
    assert set(answer.timings) == {"retrieve_s", "differ_s", "first_token_s", "total_s"}


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
                      "searched", "disagreements"}
    assert d["disagreements"] == []
    assert (d["question"], d["answer"], d["abstained"], d["model"]) == (
        QUESTION, f"{UNION[:-1]} [1].", False, "scripted")
    [c] = d["citations"]
    assert (c["title"], c["outlet"], c["date"], c["source"]) == (
        "Ferry strike halts service to Dunmore Island", "The Riverside Courier", "2025-03-03",
        "ferry.txt")


# What the model reads -----------------------------------------------------------------------
def shown_titles(system: str) -> dict[int, str]:
    """The article title each numbered passage of a prompt is shown under."""
    return {int(n): title for n, title in re.findall(r'^\[(\d+)\]\nArticle: "([^"]+)"', system, re.M)}


def test_focus_shows_the_best_sentence_of_each_best_matching_article_with_the_question(
        make_assistant, ferry):
    a = make_assistant(UNION, focus=2)
    a.ask(QUESTION)
    [[system, turn]] = a.llm.prompts[0]
    head, question = turn["content"].split("\n\nQuestion: ")
    assert question == QUESTION and head.startswith("Passages that bear on it:\n")
    shown = head.splitlines()[1:]
    assert len(shown) == 2 and all(re.match(r"\[\d+\] \S", line) for line in shown)
    numbers = [int(re.match(r"\[(\d+)\]", line).group(1)) for line in shown]
    titles = shown_titles(system["content"])
    assert len({titles[n] for n in numbers}) == 2  # one sentence from each of two articles


def test_focus_never_points_at_a_headline(make_assistant, seeds):
    # Invented: the headline matches the question best, the sentence under it answers it.
    (seeds / "chess.txt").write_text("Port Alder chess open ends\n\nGrandmaster Ravi Okafor "
                                      "won the Port Alder chess open on Sunday.\n")
    a = make_assistant("Ravi Okafor won it.", focus=1)
    a.ask("Who won the Port Alder chess open?")
    turn = a.llm.prompts[0][0][-1]["content"]
    [shown] = turn.split("\n\nQuestion: ")[0].splitlines()[1:]
    assert shown.endswith("Grandmaster Ravi Okafor won the Port Alder chess open on Sunday.")


def test_the_prompt_holds_the_retrieved_passages_numbered_under_their_article_header(
        make_assistant, ferry):
    a = make_assistant(UNION, focus=0, top_k=6)
    answer = a.ask(QUESTION)
    [system, turn] = a.llm.prompts[0][0]
    assert turn == {"role": "user", "content": f"Question: {QUESTION}"}
    content, blocks = system["content"], a.llm.blocks[0]
    assert content == prompts.HEAD.format(rules=prompts.RULES) + "".join(blocks)
    assert len(blocks) == 2 * 6 and blocks[0::2] == [f"[{n}]\n" for n in range(1, 7)]
    assert ('Article: "Ferry strike halts service to Dunmore Island" (The Riverside Courier, '
            'Monday, March 3, 2025)\n') in content
    by_id = {p.id: p for p in a.store.passages()}
    read = [p for p in answer.passages]
    assert len(read) == 6 and all(p.id in by_id for p in read)
    for p in read:  # each passage whole, once, right under its article's header
        body = prompts.quoted(" ".join(p.text.split()))
        assert blocks.count(f'Article: {header(p)}\n{body}\n\n') == 1
    # The articles are kept together, each in its text order.
    order = [(p.path, p.start) for p in sorted(read, key=lambda p: blocks.index(
        f'Article: {header(p)}\n{prompts.quoted(" ".join(p.text.split()))}\n\n'))]
    paths = [path for path, _ in order]
    assert paths == sorted(paths, key=paths.index) and all(
        x[1] < y[1] for x, y in zip(order, order[1:]) if x[0] == y[0])
    assert a.llm.read_blocks and set(blocks[1::2]) <= set(a.llm.read_blocks[-1])


def test_a_backend_that_does_not_read_ahead_gets_the_same_prompt(make_assistant, ferry):
    ahead, hosted = make_assistant(UNION), make_assistant(UNION, reads_ahead=False)
    assert ahead.ask(QUESTION).text == hosted.ask(QUESTION).text == f"{UNION[:-1]} [1]."
    assert ahead.llm.prompts == hosted.llm.prompts


def test_an_off_topic_question_is_refused_without_the_llm(make_assistant, tmp_path):
    make_assistant(reads_ahead=False)
    llm = scripted_llm("Paris is the capital of France [1].", reads_ahead=False)
    a = Assistant(data_dir=tmp_path / "data", embed_model=fake_embedder(), language_model=llm,
                  min_similarity=0.99)
    *streamed, answer = a.stream("What is the capital of France?")
    assert streamed == [REFUSAL] and answer.abstained and answer.text == REFUSAL
    assert llm.prompts == []


def test_each_part_of_a_question_gets_a_candidate_beside_samples_and_the_quote(
        make_assistant, ferry):
    # Side by side: the question, each part (greedy), the question again (sampled), and, for
    # the fitted decision, the words that answer it, copied.
    a = make_assistant(UNION, focus=0, samples=2, decision="fitted")
    a.ask("How many workers joined the strike, and when are the talks set?")
    asked = "Question: How many workers joined the strike, and when are the talks set?"
    *answers, quote = [p[-1]["content"] for p in a.llm.prompts[0]]
    assert answers == [asked, "Question: How many workers joined the strike?",
                       "Question: When are the talks set?", asked, asked]
    assert quote.startswith(asked + "\n") and "copy, word for word" in quote
    assert a.llm.temperatures[0] == [0.0, 0.0, 0.0, 0.7, 0.7]

    checks = make_assistant(UNION, focus=0)  # today's checks: no samples, no quote
    checks.ask("How many workers joined the strike, and when are the talks set?")
    assert [p[-1]["content"] for p in checks.llm.prompts[0]] == answers[:3]


def test_a_second_round_of_candidates_only_when_the_first_does_not_hold_up(make_assistant, ferry):
    held = make_assistant(UNION)
    held.ask(QUESTION)
    assert len(held.llm.prompts) == 1

    failed = make_assistant(INVENTED, answers=3, samples=0)  # up to two more, one article each
    failed.ask(QUESTION)
    first, *more = failed.llm.prompts
    assert len(first) == 1 and len(more) == 2 and all(len(r) == 1 for r in more)
    everything = shown_titles(first[0][0]["content"])
    assert len(set(everything.values())) > 1
    for [prompt] in more:
        alone = shown_titles(prompt[0]["content"])
        assert len(set(alone.values())) == 1  # one article, under the numbers of the first round
        assert all(everything[n] == title for n, title in alone.items())

    greedy = make_assistant(INVENTED, answers=1)
    greedy.ask(QUESTION)
    assert len(greedy.llm.prompts) == 1


def test_a_follow_up_is_rewritten_into_a_standalone_question(make_assistant, ferry):
    rewrite = "How many workers joined the Dunmore Island ferry strike?"
    history = [("What happened on Dunmore Island?", "Ferry crews walked off the job [1].")]
    a = make_assistant(rewrite, UNION, focus=0)
    answer = a.ask("How many joined it?", history=history)
    [condense], [asked, *_] = a.llm.prompts
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
