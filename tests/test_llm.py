"""The llama.cpp backend with a real (small, fast) GGUF model: the fixed prefix evaluated once,
kept on disk, extended without recomputing, and several answers written side by side."""
import pytest

from conftest import smollm_path

pytestmark = pytest.mark.slow

HEAD = [{"role": "system", "content": "You answer questions about these notes.\n"
                                      "[1] The ferry to Lorne leaves at nine.\n"
                                      "[2] Tickets cost four pounds."}]


def backend(tmp_path, **kw):
    from qa.llm.llamacpp import LlamaCpp

    return LlamaCpp(smollm_path(), "smollm", threads=2, state_dir=tmp_path / "state", **kw)


def ask(question):
    return HEAD + [{"role": "user", "content": question}]


def answers(llm, prompts, **kw):
    texts = [""] * len(prompts)
    for i, piece in llm.generate(prompts, fixed=1, max_tokens=24, name="notes", **kw):
        texts[i] += piece
    return texts


def test_the_prefix_is_saved_and_a_fresh_process_reads_it_back(tmp_path):
    first = backend(tmp_path).prepare(HEAD, "notes")
    assert first["reused"] == 0 and first["evaluated"] == first["tokens"] > 20
    assert (tmp_path / "state" / "smollm.notes.state").stat().st_size > 0
    again = backend(tmp_path).prepare(HEAD, "notes")  # a new model object, as in a new process
    assert again["reused"] == again["tokens"] and again["evaluated"] == 0


def test_a_longer_collection_extends_the_saved_prefix(tmp_path):
    backend(tmp_path).prepare(HEAD, "notes")
    longer = [{"role": "system", "content": HEAD[0]["content"] + "\n[3] The ferry is blue."}]
    grown = backend(tmp_path).prepare(longer, "notes")
    assert 0 < grown["evaluated"] < 15 and grown["reused"] + grown["evaluated"] == grown["tokens"]


def test_answers_side_by_side_are_those_written_one_at_a_time(tmp_path):
    llm = backend(tmp_path)
    questions = [ask("When does the ferry leave?"), ask("What do tickets cost?")]
    together = answers(llm, questions)
    alone = [answers(llm, [q])[0] for q in questions]
    assert together == alone and all(together)
    assert answers(llm, questions) == together  # the prefix is intact after answering


def test_the_context_grows_for_a_long_prompt_and_keeps_the_prefix(tmp_path):
    llm = backend(tmp_path, n_ctx=512)
    before = answers(llm, [ask("When does the ferry leave?")])
    long = ask("Ignore this padding. " * 120 + "When does the ferry leave?")
    assert answers(llm, [long])[0] is not None and llm.n_ctx > 512
    assert answers(llm, [ask("When does the ferry leave?")]) == before


def test_prompts_without_a_prefix_leave_the_cached_one_alone(tmp_path):
    llm = backend(tmp_path)
    before = answers(llm, [ask("When does the ferry leave?")])
    loose = [[{"role": "user", "content": "Say hello."}]]
    assert "".join(p for _, p in llm.generate(loose, max_tokens=8))
    assert llm.prepare(HEAD, "notes")["evaluated"] == 0
    assert answers(llm, [ask("When does the ferry leave?")]) == before
