"""A llama.cpp context on the C API: its sequences' cells, and batches of tokens evaluated in
them."""
from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

import numpy as np

from qa.errors import ModelMissingError
from qa.llm import state

log = logging.getLogger(__name__)


def chatml(messages: list[dict], reply: bool = True) -> str:
    """ChatML, the template of Qwen2.5 and SmolLM2."""
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if reply else "")


def _opening(end: str, turn: str) -> str:
    """What follows the blocks up to the end of `turn`: the instructions' end, and the start
    of the user's turn."""
    return end + chatml([{"role": "user", "content": turn}], reply=False).removesuffix(
        "<|im_end|>\n")


class Context:
    """The context part of the llama.cpp backend; `_head` is what sequence 0 keeps."""

    READERS = 14  # sequences for passages read side by side
    _scratch = READERS + 1  # the sequence a stored reading is loaded into, then moved

    def _open(self, n_ctx: int) -> None:
        L = self.L
        params = L.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = n_ctx, 512, 512
        # Candidates and passages being read share the prompt's cells.
        params.n_seq_max, params.kv_unified = self._scratch + 1, True
        params.n_threads = params.n_threads_batch = self.threads
        params.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED  # no faster here, and exact
        self._ctx = L.llama_init_from_model(self._model, params)
        if not self._ctx:
            raise ModelMissingError(f"llama.cpp could not make a {n_ctx}-token context.")
        self._mem = L.llama_get_memory(self._ctx)
        self._batch = L.llama_batch_init(512, 0, 1)
        self.n_ctx = n_ctx

    def _grow(self, needed: int) -> None:
        """A larger context when a prompt needs one; the evaluated prefix is carried over."""
        if needed <= self.n_ctx:
            return
        L, head = self.L, self._head
        saved = None
        if head:
            self._rm(0, len(head))
            size = L.llama_state_seq_get_size(self._ctx, 0)
            saved = (ctypes.c_uint8 * size)()
            L.llama_state_seq_get_data(self._ctx, saved, size, 0)
        L.llama_batch_free(self._batch)
        L.llama_free(self._ctx)
        self._open(-(-needed // 1024) * 1024)
        if saved is not None:
            L.llama_state_seq_set_data(self._ctx, saved, len(saved), 0)

    def _rm(self, seq: int, start: int, end: int = -1) -> None:
        self.L.llama_memory_seq_rm(self._mem, seq, start, end)

    def _decode_prompt(self, tokens: list[int], start: int) -> np.ndarray | None:
        if not tokens:
            return None
        return self._decode([(t, start + i, 0) for i, t in enumerate(tokens)],
                            wanted=[len(tokens) - 1])[0]

    def _decode(self, items: list[tuple[int, int, int]], wanted) -> list[np.ndarray]:
        """Evaluate (token, position, sequence) items, 512 at a time; the logits after each
        item whose index is in `wanted`, in order."""
        L, b, out, wanted = self.L, self._batch, [], set(wanted)
        for at in range(0, len(items), 512):
            chunk = items[at: at + 512]
            b.n_tokens = len(chunk)
            for i, (token, pos, seq) in enumerate(chunk):
                b.token[i], b.pos[i], b.n_seq_id[i], b.seq_id[i][0] = token, pos, 1, seq
                b.logits[i] = at + i in wanted
            if L.llama_decode(self._ctx, b) != 0:
                raise RuntimeError("llama.cpp could not evaluate the prompt (context full?)")
            out += [np.ctypeslib.as_array(L.llama_get_logits_ith(self._ctx, i),
                                          shape=(self._n_vocab,)).copy()
                    for i in range(len(chunk)) if at + i in wanted]
        return out

    def _state_file(self, name: str) -> Path | None:
        return self.state_dir / f"{self.name}.{name}.read" if self.state_dir else None

    def _cells(self, seq: int) -> state.Cells:
        """A sequence's cells, as llama.cpp gives them."""
        size = self.L.llama_state_seq_get_size(self._ctx, seq)
        data = (ctypes.c_uint8 * size)()
        self.L.llama_state_seq_get_data(self._ctx, data, size, seq)
        return state.parse(bytes(data))

    def _put(self, cells: state.Cells | list[state.Cells], seq: int) -> bool:
        """Load cells (several that follow one another) into a sequence; whether llama.cpp
        took them."""
        blob = state.build(cells, seq)
        buf = (ctypes.c_uint8 * blob.size).from_buffer(blob)
        return bool(self.L.llama_state_seq_set_data(self._ctx, buf, blob.size, seq))

    def _load(self, name: str, want: list[int]) -> None:
        """Sequence 0 from the saved state of `name`, where it shares a prefix with `want`; a
        saved state that does not hold is deleted (and evaluated again by the caller)."""
        self._rm(0, 0)
        self._head, self._head_name = [], name
        path = self._state_file(name)
        if not path or not path.exists():
            return
        try:
            header, cells = state.decode(path.read_bytes(), self.stamp)
            saved = header.get("head")
            if not isinstance(saved, list) or len(saved) != cells.count or cells.start != 0:
                raise state.BadReading("its tokens do not match its cells")
            if _common(want, saved) == 0:
                return
            self._grow(len(saved) + self.seqs * 512)
            if not self._put(cells, 0):
                raise state.BadReading("llama.cpp could not load it")
            self._head = [int(t) for t in saved]
        except (OSError, state.BadReading) as e:
            self._rm(0, 0)
            log.warning("the saved instructions (%s) were evaluated again: %s", path.name, e)
            path.unlink(missing_ok=True)

    def _save(self, name: str) -> None:
        path = self._state_file(name)
        if not path or not self._head:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = state.encode(self._cells(0), dict(self.stamp, head=self._head), "f16")
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a reader never sees half a state
        for old in (path.with_suffix(".state"), path.with_suffix(".tokens.npy")):
            old.unlink(missing_ok=True)  # the raw llama.cpp files of earlier versions


def _common(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


_QUIET = None


def _quiet(L) -> None:
    """llama.cpp logs every tensor it loads to stderr; the product shows its own messages."""
    global _QUIET
    if _QUIET is None:
        _QUIET = L.llama_log_callback(lambda level, text, data: None)  # kept alive: global
    L.llama_log_set(_QUIET, ctypes.c_void_p(0))