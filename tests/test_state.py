"""Stored readings on disk (qa/llm/state.py): llama.cpp's state parsed and rebuilt byte for
byte, quantised, and every damaged or foreign file refused before llama.cpp sees it."""
import struct

import numpy as np
import pytest

from qa.llm import state

STAMP = {"model": "m", "llama": "b1", "key": "k"}


def llama_state(start=5, count=40, layers=3, width=64, seq=2, seed=0) -> bytes:
    """A sequence state as llama.cpp 0.3.36 writes it (V transposed, f16)."""
    rng = np.random.default_rng(seed)
    out = [struct.pack("<IiII", state.LLAMA_MAGIC, seq, 1, count)]
    out += [struct.pack("<iIi", start + i, 1, seq) for i in range(count)]
    out.append(struct.pack("<II", 1, layers))
    for _ in range(layers):
        out += [struct.pack("<iQ", 1, 2 * width),
                rng.normal(size=(count, width)).astype(np.float16).tobytes()]
    for _ in range(layers):
        out += [struct.pack("<iII", 1, 2, width),
                rng.normal(size=(width, count)).astype(np.float16).tobytes()]
    return b"".join(out)


def test_llama_cpps_state_is_rebuilt_byte_for_byte():
    blob = llama_state()
    cells = state.parse(blob)
    assert (cells.start, cells.count, cells.k.shape, cells.v.shape) == (5, 40, (3, 40, 64),
                                                                          (3, 64, 40))
    assert state.build(cells, seq=2).tobytes() == blob


@pytest.mark.parametrize("quant, most_error, most_size", [("f16", 0.0, 1.1), ("q8", 0.01, 0.6),
                                                          ("q4", 0.15, 0.33)])
def test_a_reading_comes_back_as_stored_within_its_quantisation(quant, most_error, most_size):
    blob = llama_state(count=45)  # not a whole number of 32-cell groups
    cells = state.parse(blob)
    data = state.encode(cells, STAMP, quant)
    header, back = state.decode(data, STAMP)
    assert header["quant"] == quant and back.start == 5 and back.count == 45
    for a, b in ((cells.k, back.k), (cells.v, back.v)):
        a, b = a.astype(np.float32), b.astype(np.float32)
        assert np.abs(a - b).mean() <= most_error * np.abs(a).mean()
    assert state.build(back).size == len(blob)
    whole = llama_state(count=64)  # whole 32-cell groups: no padding
    assert len(state.encode(state.parse(whole), STAMP, quant)) <= most_size * len(whole)


def test_every_damage_is_refused_before_llama_cpp_sees_it():
    data = state.encode(state.parse(llama_state()), STAMP, "q4")
    bad = {
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "damaged in place": data[:-200] + bytes(100) + data[-100:],
        "not ours": b"GGUF" + data[4:],
        "header cut": data[:20],
    }
    for name, broken in bad.items():
        with pytest.raises(state.BadReading):
            state.decode(broken, STAMP)
    for field in STAMP:  # another model, build or passage
        with pytest.raises(state.BadReading, match=field):
            state.decode(data, dict(STAMP, **{field: "other"}))


def test_llama_states_it_cannot_rebuild_are_refused():
    blob = llama_state()
    with pytest.raises(state.BadReading):
        state.parse(blob[:-1])
    with pytest.raises(state.BadReading):
        state.parse(blob + b"\0")
    with pytest.raises(state.BadReading):
        state.parse(b"\0" * 8 + blob[8:])


def test_four_bit_keys_keep_a_per_channel_offset():
    # Keys with a large offset per channel and a small spread: a symmetric 4-bit block would
    # spend its 16 levels on the offset; the store keeps the spread.
    rng = np.random.default_rng(1)
    cells = state.parse(llama_state(count=64))
    offset = rng.normal(scale=40, size=(1, 1, cells.k.shape[2]))
    cells.k = (cells.k + offset).astype(np.float16)
    _, back = state.decode(state.encode(cells, STAMP, "q4"), STAMP)
    spread = cells.k.astype(np.float32) - offset
    error = back.k.astype(np.float32) - cells.k.astype(np.float32)
    assert np.abs(error).mean() < 0.15 * np.abs(spread).mean()


def test_with_no_limit_set_the_readings_take_at_most_a_quarter_of_the_free_disk(tmp_path):
    import shutil

    from qa.llm.store import BlockStore

    store = BlockStore(tmp_path / "read")
    store.put("a", b"x" * 1000)
    free = shutil.disk_usage(tmp_path).free / 2**20
    assert abs(store.limit() - 0.25 * (free + store.size_mb())) < 1.0
    assert BlockStore(tmp_path / "read", limit_mb=5).limit() == 5.0
