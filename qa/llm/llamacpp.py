"""A GGUF model on the CPU through llama.cpp's C API (llama-cpp-python's bindings).

The high-level `llama_cpp.Llama` evaluates one sequence at a time and keeps its prompt cache in
memory only; this backend needs more of llama.cpp: a fixed prompt prefix (the instructions and
the whole collection) evaluated once, saved to disk and reused by every question in any process,
and several answers decoded side by side from one evaluation of the question. Written against
llama-cpp-python 0.3.36's public ctypes API (`llama_cpp.llama_*`), which the project pins.
"""
from __future__ import annotations

import codecs
import ctypes
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from qa.errors import ModelMissingError

EOG_TEXT = ("<|im_end|>", "<|endoftext|>", "<|im_start|>")


def chatml(messages: list[dict], reply: bool = True) -> str:
    """ChatML, the template of Qwen2.5 and SmolLM2."""
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if reply else "")


class LlamaCpp:
    """One model and one context; every call holds a lock, so threads take turns."""

    caches_prefix = True

    def __init__(self, path: str, name: str, threads: int, state_dir: Path | None = None,
                 n_ctx: int = 4096, seqs: int = 4):
        import llama_cpp as L

        if not Path(path).is_file():
            raise ModelMissingError(f"No GGUF model file at {path}. Fix --model (QA_MODEL).")
        self.L, self.name, self.threads, self.seqs = L, name, threads, seqs
        self.state_dir = state_dir
        self._lock = threading.RLock()
        _quiet(L)
        L.llama_backend_init()
        params = L.llama_model_default_params()
        params.n_gpu_layers = 0
        params.load_mode = L.LLAMA_LOAD_MODE_MMAP
        # Weight repacking into "extra" buffer types crashes llama.cpp's AMX kernels on CPUs
        # that have AMX (a segfault in ggml_backend_amx_mul_mat, seen with 0.3.36); plain
        # buffers run everywhere at the same decoding speed.
        params.use_extra_bufts = False
        self._model = L.llama_model_load_from_file(str(path).encode(), params)
        if not self._model:
            raise ModelMissingError(f"llama.cpp could not load {path}; is it a GGUF model file?")
        self._vocab = L.llama_model_get_vocab(self._model)
        self._n_vocab = L.llama_vocab_n_tokens(self._vocab)
        self._ctx = None
        self._head: list[int] = []  # the tokens evaluated in sequence 0, from position 0
        self._head_name = ""
        self._open(n_ctx)

    # Tokens -------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        data = text.encode()
        room = len(data) + 16
        buf = (self.L.llama_token * room)()
        n = self.L.llama_tokenize(self._vocab, data, len(data), buf, room, False, True)
        return list(buf[:n])

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def _piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(128)
        n = self.L.llama_token_to_piece(self._vocab, token, buf, 128, 0, False)
        return buf.raw[:n]

    # The fixed prefix -----------------------------------------------------------------------
    def prepare(self, messages: list[dict], name: str = "prefix") -> dict:
        """Evaluate a fixed prefix now and save it, reusing what a saved one shares with it."""
        with self._lock:
            t0, before = time.perf_counter(), len(self._head)
            tokens = self.tokenize(chatml(messages, reply=False))
            reused = self._ensure_head(tokens, name)
            self._save(name)
            return {"tokens": len(tokens), "reused": reused, "seconds": time.perf_counter() - t0,
                    "evaluated": len(tokens) - reused, "was_loaded": before}

    def _ensure_head(self, tokens: list[int], name: str) -> int:
        """Make sequence 0 hold exactly `tokens`; the number of tokens reused."""
        if name != self._head_name or _common(self._head, tokens) < len(self._head):
            self._load(name, tokens)
        keep = _common(self._head, tokens)
        self._grow(len(tokens) + self.seqs * 512)
        self._rm(0, keep)
        self._head = self._head[:keep]
        self._decode_prompt(tokens[keep:], keep)
        self._head, self._head_name = list(tokens), name
        return keep

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

    # Generation -----------------------------------------------------------------------------
    def generate(self, prompts: list[list[dict]], *, fixed: int = 0, max_tokens: int = 200,
                 name: str = "prefix") -> Iterator[tuple[int, str]]:
        """Yield (candidate, text) pieces as they are decoded, greedily, one candidate per
        prompt, all side by side. The prompts share their first `fixed` messages: the prefix
        kept evaluated between calls (and on disk under `name`)."""
        with self._lock:
            head = self.tokenize(chatml(prompts[0][:fixed], reply=False)) if fixed else []
            tails = [self.tokenize(chatml(p[fixed:])) for p in prompts]
            # Sequence 0 keeps the cached prefix; a prompt without one leaves it alone.
            seqs = list(range(self.seqs)) if fixed else list(range(1, self.seqs))
            tails = tails[: len(seqs)]
            seqs = seqs[: len(tails)]
            if fixed:
                self._ensure_head(head, name)
            self._grow(len(self._head) + sum(map(len, tails)) + len(tails) * max_tokens + 16)
            try:
                for i, piece in self._decode_candidates(len(head), tails, seqs, max_tokens):
                    yield i, piece
            finally:
                for s in seqs:
                    self._rm(s, len(self._head) if s == 0 else 0)

    def _decode_candidates(self, start: int, tails: list[list[int]], seqs: list[int],
                           max_tokens: int) -> Iterator[tuple[int, str]]:
        """Candidate i reads on from tails[i] in sequence seqs[i]."""
        for s in seqs[1:] if start else []:  # every sequence reads on from the shared prefix
            self.L.llama_memory_seq_cp(self._mem, 0, s, 0, start)
        items, last = [], []
        for i, tail in enumerate(tails):
            items += [(t, start + j, seqs[i]) for j, t in enumerate(tail)]
            last.append(len(items) - 1)
        logits = self._decode(items, wanted=last)
        pos = [start + len(t) for t in tails]
        texts = [codecs.getincrementaldecoder("utf-8")("replace") for _ in tails]
        current = {i: int(np.argmax(logits[i])) for i in range(len(tails))}
        for _ in range(max_tokens):
            for i, token in list(current.items()):
                if self.L.llama_vocab_is_eog(self._vocab, token):
                    del current[i]
                    continue
                piece = texts[i].decode(self._piece(token))
                if piece:
                    yield i, piece
            if not current:
                return
            rows = self._decode([(t, pos[i], seqs[i]) for i, t in current.items()],
                                wanted=range(len(current)))
            current = {i: int(np.argmax(rows[k])) for k, i in enumerate(current)}
            for i in current:
                pos[i] += 1

    # llama.cpp ------------------------------------------------------------------------------
    def _open(self, n_ctx: int) -> None:
        L = self.L
        params = L.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = n_ctx, 512, 512
        params.n_seq_max, params.kv_unified = self.seqs, True  # candidates share the prompt's cells
        params.n_threads = params.n_threads_batch = self.threads
        params.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED  # no faster here, and exact
        self._ctx = L.llama_init_from_model(self._model, params)
        if not self._ctx:
            raise ModelMissingError(f"llama.cpp could not make a {n_ctx}-token context.")
        self._mem = L.llama_get_memory(self._ctx)
        self._batch = L.llama_batch_init(512, 0, self.seqs)
        self.n_ctx = n_ctx

    def _grow(self, needed: int) -> None:
        """A larger context when a prompt needs one; the evaluated prefix is carried over."""
        if needed <= self.n_ctx:
            return
        L, head = self.L, self._head
        saved = None
        if head:
            size = L.llama_state_seq_get_size(self._ctx, 0)
            saved = (ctypes.c_uint8 * size)()
            L.llama_state_seq_get_data(self._ctx, saved, size, 0)
        L.llama_batch_free(self._batch)
        L.llama_free(self._ctx)
        self._open(-(-needed // 1024) * 1024)
        if saved is not None:
            L.llama_state_seq_set_data(self._ctx, saved, len(saved), 0)

    def _rm(self, seq: int, start: int) -> None:
        self.L.llama_memory_seq_rm(self._mem, seq, start, -1)

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