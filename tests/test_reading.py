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

    kw.setdefault("store_type", "f16")  # exact: placed cells equal evaluated ones
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
    assert len(list((tmp_path / "state" / "read").glob("*.read"))) == 3
    assert llm.read(head(NOTES), NOTES, name="notes")["read"] == 0
    assert backend(tmp_path).read(head(NOTES), NOTES, name="notes")["read"] == 0


def test_a_changed_block_is_read_again_and_pruning_forgets_the_old_one(tmp_path):
    llm = backend(tmp_path)
    llm.read(head(NOTES), NOTES, name="notes")
    changed = NOTES[:2] + ["The harbour cafe opens at eight.\n\n"]
    assert llm.read(head(changed), changed, name="notes", prune=True)["read"] == 1
    assert len(list((tmp_path / "state" / "read").glob("*.read"))) == 3


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
    assert len(list((tmp_path / "state" / "read").glob("*.read"))) == 2
    assert answer(small, NOTES, "When does the ferry leave?")  # the missing one is read again
    assert len(list((tmp_path / "state" / "read").glob("*.read"))) == 3


def readings(tmp_path):
    return sorted((tmp_path / "state" / "read").glob("*.read"))


def damage(path, how: str) -> None:
    import json

    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "damaged in place":
        middle = len(data) // 2
        data[middle: middle + 64] = bytes(64)
        path.write_bytes(bytes(data))
    else:  # a header field changed: another model, another llama.cpp build
        size = int.from_bytes(data[4:8], "little")
        header = json.loads(data[8: 8 + size])
        header[how] = "another " + str(header[how])
        text = json.dumps(header, sort_keys=True).encode()
        path.write_bytes(bytes(data[:4]) + len(text).to_bytes(4, "little") + text
                         + bytes(data[8 + size:]))


def same_reading(a, b) -> bool:
    """The same first-token scores but for rounding: a passage read again alone, not beside
    another, rounds a little differently (llama.cpp is exact for neither)."""
    import numpy as np

    cosine = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    return cosine > 0.99 and int(a.argmax()) == int(b.argmax())


@pytest.mark.parametrize("how", ["truncated", "damaged in place", "model", "llama"])
def test_a_reading_that_does_not_hold_is_read_again_and_answers_as_before(tmp_path, how,
                                                                          caplog):
    llm = backend(tmp_path, store_type="q4")
    llm.read(head(NOTES), NOTES, name="notes")
    before = next_token_logits(llm, NOTES, "When does the cafe open?", True)
    for f in readings(tmp_path):
        damage(f, how)
    again = backend(tmp_path, store_type="q4")
    assert same_reading(next_token_logits(again, NOTES, "When does the cafe open?", True), before)
    assert sum("was read again" in r.getMessage() for r in caplog.records) == 3
    assert answer(again, NOTES, "When does the cafe open?")  # now stored anew: read no more
    assert sum("was read again" in r.getMessage() for r in caplog.records) == 3


def test_a_reading_swapped_for_another_blocks_is_never_placed(tmp_path, caplog):
    # Same model, same size on disk, another passage's cells: its header names another key.
    notes = ["The ferry to Lorne leaves at nine.\n\n", "The ferry to Arran leaves at ten.\n\n"]
    llm = backend(tmp_path)
    llm.read(head(notes), notes, name="notes")
    question = "When does the ferry to Arran leave?"
    before = next_token_logits(llm, notes, question, True)
    a, b = readings(tmp_path)
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    assert same_reading(next_token_logits(backend(tmp_path), notes, question, True), before)
    assert sum("was read again" in r.getMessage() for r in caplog.records) == 2


def test_damaged_instructions_are_evaluated_again(tmp_path, caplog):
    llm = backend(tmp_path)
    llm.read(head(NOTES), NOTES, name="notes")
    before = answer(llm, NOTES, "What do tickets cost?")
    saved = next((tmp_path / "state").glob("*.notes.read"))
    damage(saved, "damaged in place")
    assert answer(backend(tmp_path), NOTES, "What do tickets cost?") == before
    assert any("evaluated again" in r.getMessage() for r in caplog.records)


def test_quantised_readings_keep_the_answer_close_to_exact_ones(tmp_path):
    # Blocks of a few groups of 32 cells (shorter ones are kept exact).
    import numpy as np

    notes = [n.strip() + " " + " ".join(f"Pier {i} holds {i + 2} boats." for i in range(12))
             + "\n\n" for n in NOTES]
    exact = next_token_logits(backend(tmp_path / "f16"), notes, "When does the cafe open?", True)
    for kind in ("q8", "q4"):
        llm = backend(tmp_path / kind, store_type=kind)
        logits = next_token_logits(llm, notes, "When does the cafe open?", True)
        cosine = float(logits @ exact / np.linalg.norm(logits) / np.linalg.norm(exact))
        assert cosine > 0.98 and int(logits.argmax()) == int(exact.argmax()), kind
    sizes = {k: sum(f.stat().st_size for f in readings(tmp_path / k)) for k in ("f16", "q4")}
    assert sizes["q4"] < 0.35 * sizes["f16"]


def test_readings_moved_here_hold_the_cells_llama_cpp_would_shift_to(tmp_path):
    # A placed block's keys are rotated by how far it moved, before llama.cpp gets them;
    # llama.cpp's own shift gives the same cells to f16 rounding.
    import numpy as np

    llm = backend(tmp_path)
    assert llm.rope is not None

    def placed(rope):
        llm.rope = rope
        with llm._lock:
            h, pieces, _ = llm._split(head(NOTES), NOTES)
            llm._ensure_head(h, "notes")
            end = llm._assemble(h, pieces)
            llm._decode([(pieces[0][0], end, 0)], wanted=[])  # applies a pending shift
            llm._rm(0, end)
            cells = llm._cells(0)
            llm._rm(0, len(h))
            return cells

    ours, theirs = placed(llm.rope), placed(None)
    k, want = ours.k.astype(np.float32), theirs.k.astype(np.float32)
    assert ours.count == theirs.count > 30 and np.array_equal(ours.v, theirs.v)
    assert np.all(np.abs(k - want) <= 2.0 ** -10 * np.abs(want) + 1e-3)
    # Control: the last block as stored, not moved, is not what llama.cpp holds.
    from qa.llm import state

    h, pieces, _ = llm._split(head(NOTES), NOTES)
    key = llm._key(h, pieces[-1])
    _, stored = state.decode(llm.store.get(key), llm._expected(key, len(h), len(pieces[-1])))
    assert np.abs(stored.k.astype(np.float32) - want[:, -stored.count:]).max() > 0.1


def test_a_question_goes_before_the_rest_of_a_reading_in_progress(tmp_path):
    # An upload is read behind questions: a question asked meanwhile waits for at most the
    # batch being read, then answers (reading the passages it needs first).
    import threading

    llm = backend(tmp_path)
    llm.read(head(NOTES), NOTES, name="notes")
    many = [f"Note {i}: the harbour crane {i} lifts {i} tonnes on pier {i}.\n\n"
            for i in range(160)]
    done = threading.Event()
    reader = threading.Thread(target=lambda: (llm.read(head(many), many, name="notes",
                                                       batch_tokens=32), done.set()))
    reader.start()
    while not llm.store.size_mb() or len(readings(tmp_path)) < 5:
        pass  # the reading is under way
    answer(llm, NOTES, "When does the ferry leave?")
    answered_while_reading = not done.is_set()
    reader.join()
    assert answered_while_reading and len(readings(tmp_path)) >= 160
