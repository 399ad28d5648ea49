"""A llama.cpp context on the C API: its sequences' cells, and batches of tokens evaluated in
them."""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from qa.errors import ModelMissingError


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
        return self.state_dir / f"{self.name}.{name}.state" if self.state_dir else None

    def _load(self, name: str, want: list[int]) -> None:
        """Sequence 0 from the saved state of `name`, where it shares a prefix with `want`."""
        self._rm(0, 0)
        self._head, self._head_name = [], name
        path = self._state_file(name)
        try:  # the token list beside the state says, cheaply, whether loading it is worth it
            saved = np.load(path.with_suffix(".tokens.npy")).tolist() if path else []
        except (OSError, ValueError):
            return
        if not saved or _common(want, saved) == 0:
            return
        L, count = self.L, ctypes.c_size_t(0)
        self._grow(len(saved) + self.seqs * 512)
        tokens = (L.llama_token * len(saved))()
        if L.llama_state_seq_load_file(self._ctx, str(path).encode(), 0, tokens, len(saved),
                                       ctypes.byref(count)):
            self._head = list(tokens[: count.value])

    def _save(self, name: str) -> None:
        path = self._state_file(name)
        if not path or not self._head:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tokens = (self.L.llama_token * len(self._head))(*self._head)
        self.L.llama_state_seq_save_file(self._ctx, str(tmp).encode(), 0, tokens, len(self._head))
        np.save(tmp.with_suffix(".npy"), np.asarray(self._head, dtype=np.int32))
        os.replace(tmp, path)  # a reader never sees half a state
        os.replace(tmp.with_suffix(".npy"), path.with_suffix(".tokens.npy"))


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