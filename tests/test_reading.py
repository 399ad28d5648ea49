"""Reading ahead with a real (small, fast) GGUF model: each passage read once after the
instructions and stored, and a question's passages placed from their stored states
(qa/llm/llamacpp.py, qa/reading.py)."""
import pytest

from conftest import smollm_path

pytestmark = pytest.mark.slow

RULES = "You answer questions about these notes, in one sentence.\n\nNotes:\n\n"
NOTES = ["The ferry to Lorne leaves at nine.\n\n", "Tickets cost four pounds.\n\n",
         "The harbour cafe opens at seven and closes at noon.\n\n"]


def backend(tmp_path, **kw):
    from qa.llm.llamacpp import LlamaCpp

    return LlamaCpp(smollm_path(), "smollm", threads=2, state_dir=tmp_path / "state", **kw)


def head(blocks):
    return [{"role": "system", "content": RULES + "".join(blocks)}]


def answer(llm, blocks, question, **kw):
    prompt = head(blocks) + [{"role": "user", "content": question}]
    return "".join(p for _, p in llm.generate([prompt], fixed=1, max_tokens=24, name="notes",
                                              blocks=blocks, **kw))


def test_each_block_is_read_once_and_a_new_process_reuses_the_stored_readings(tmp_path):
    llm = backend(tmp_path)
    first = llm.read(head(NOTES), NOTES, name="notes")
    assert first["read"] == 3 and first["tokens"] > 20
    assert len(list((tmp_path / "state" / "read").glob("*.state"))) == 3
    assert llm.read(head(NOTES), NOTES, name="notes")["read"] == 0
    assert backend(tmp_path).read(head(NOTES), NOTES, name="notes")["read"] == 0


def test_a_changed_block_is_read_again_and_pruning_forgets_the_old_one(tmp_path):
    llm = backend(tmp_path)
    llm.read(head(NOTES), NOTES, name="notes")
    changed = NOTES[:2] + ["The harbour cafe opens at eight.\n\n"]
    assert llm.read(head(changed), changed, name="notes", prune=True)["read"] == 1
    assert len(list((tmp_path / "state" / "read").glob("*.state"))) == 3


def test_one_placed_block_answers_as_the_same_text_evaluated_in_full(tmp_path):
    # Read right after the instructions and placed there: the same cells, the same answer.
    llm = backend(tmp_path)
    one = NOTES[:1]
    placed = answer(llm, one, "When does the ferry leave?")
    assert placed and placed == answer(llm, one, "When does the ferry leave?", assemble=False)


def next_token_logits(llm, blocks, question, assemble):
    """The model's scores for the first token of its answer (the backend's own steps)."""
    prompt = head(blocks) + [{"role": "user", "content": question}]
    with llm._lock:
        h, pieces, end = llm._split(prompt[:1], blocks)
        llm._ensure_head(h, "notes")
        if assemble:
            start = llm._assemble(h, pieces)
        else:
            flat = [t for b in pieces for t in b]
            llm._decode([(t, len(h) + i, 0) for i, t in enumerate(flat)], wanted=[])
            start = len(h) + len(flat)
        tail = llm.tokenize(end + f"<|im_start|>user\n{question}<|im_end|>\n"
                                  "<|im_start|>assistant\n")
        try:
            return llm._decode([(t, start + i, 0) for i, t in enumerate(tail)],
                               wanted=[len(tail) - 1])[0]
        finally:
            llm._rm(0, len(h))


def test_blocks_placed_after_others_keep_their_meaning(tmp_path):
    # Each block was read right after the instructions; placed after other blocks its
    # positions are shifted, and it has not seen the blocks before it. What the model would
    # write first stays close to what it writes from the same text evaluated in full.
    import numpy as np

    llm = backend(tmp_path)
    placed = next_token_logits(llm, NOTES, "When does the cafe open?", assemble=True)
    full = next_token_logits(llm, NOTES, "When does the cafe open?", assemble=False)
    cosine = float(placed @ full / np.linalg.norm(placed) / np.linalg.norm(full))
    assert cosine > 0.9 and int(placed.argmax()) == int(full.argmax())
    unplaced = next_token_logits(llm, NOTES[:1], "When does the cafe open?", assemble=True)
    assert float(np.abs(unplaced - placed).max()) > 0.1  # the placed blocks are read


def test_generating_leaves_no_cells_behind(tmp_path):
    llm = backend(tmp_path)
    first = answer(llm, NOTES, "When does the ferry leave?")
    L = llm.L
    for s in range(1, llm._scratch + 1):
        assert L.llama_memory_seq_pos_max(llm._mem, s) == -1  # every other sequence is empty
    assert L.llama_memory_seq_pos_max(llm._mem, 0) == len(llm._head) - 1  # the instructions
    answer(llm, NOTES[::-1], "What do tickets cost?")
    assert answer(llm, NOTES, "When does the ferry leave?") == first


def test_a_limited_store_forgets_the_least_recently_used_and_reads_them_again(tmp_path):
    llm = backend(tmp_path)
    llm.read(head(NOTES), NOTES, name="notes")
    small = backend(tmp_path)
    small.store.limit_mb = llm.store.size_mb() * 0.8  # room for two of the three
    small.store.trim()
    assert len(list((tmp_path / "state" / "read").glob("*.state"))) == 2
    assert answer(small, NOTES, "When does the ferry leave?")  # the missing one is read again
    assert len(list((tmp_path / "state" / "read").glob("*.state"))) == 3
