"""A GGUF model on the CPU through llama.cpp's C API (llama-cpp-python's bindings).

The high-level `llama_cpp.Llama` evaluates one sequence at a time and keeps its prompt cache in
memory only; this backend needs more of llama.cpp: the instructions evaluated once and kept on
disk; each passage read once, after them, at index time, its state stored on disk under a key
of its content; at question time the states of the passages a question needs placed one after
another in one sequence (positions shifted), so that only the question is evaluated on top
(independent attention with re-ordered positions, as in TurboRAG); and several answers decoded
side by side from one evaluation of the question. Written against llama-cpp-python 0.3.36's
public ctypes API (`llama_cpp.llama_*`), which the project pins.
"""
from __future__ import annotations

import codecs
import contextlib
import ctypes
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from qa.errors import ModelMissingError
from qa.llm import state
from qa.llm.context import _common, _opening, _quiet, chatml
from qa.llm.placing import Placing
from qa.llm.store import BlockStore



class LlamaCpp(Placing):
    """One model and one context; every call holds a lock, so threads take turns."""

    reads_ahead = True  # passages can be read at index time and their reading reused

    def __init__(self, path: str, name: str, threads: int, state_dir: Path | None = None,
                 n_ctx: int = 4096, seqs: int = 8, store_mb: int = 0, store_type: str = "q4"):
        import llama_cpp as L

        if not Path(path).is_file():
            raise ModelMissingError(f"No GGUF model file at {path}. Fix --model (QA_MODEL).")
        self.L, self.name, self.threads, self.seqs = L, name, threads, seqs
        self.state_dir = state_dir
        self.store = BlockStore(state_dir / "read" if state_dir else None, store_mb)
        self.store_type = store_type
        # What every stored reading depends on besides its tokens: one that differs is read again.
        self.stamp = {"llama": f"llama-cpp-python {L.__version__}", "model": fingerprint(path),
                      "kv": "f16", "flash_attn": False}
        self._lock = threading.RLock()
        self._waiting, self._counting = 0, threading.Lock()  # questions waiting for the lock
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
        self.rope = rope(L, self._model)
        self._vocab = L.llama_model_get_vocab(self._model)
        self._n_vocab = L.llama_vocab_n_tokens(self._vocab)
        self._ctx = None
        self._head: list[int] = []  # the tokens evaluated in sequence 0, from position 0
        self._head_name = ""
        self._open(n_ctx)

    @contextlib.contextmanager
    def _first(self):
        """The model, before any reading waiting for it: a question need not wait for a whole
        collection to be read (Python's locks are not fair: a reader would take it back)."""
        with self._counting:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._counting:
                self._waiting -= 1
        try:
            yield
        finally:
            self._lock.release()

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
        if keep < len(tokens):
            self._save(name)
        return keep

    # Generation -----------------------------------------------------------------------------
    def generate(self, prompts: list[list[dict]], *, fixed: int = 0, max_tokens: int = 200,
                 name: str = "prefix", blocks: list[str] | None = None,
                 assemble: bool = True, turn: str = "",
                 temperatures: list[float] | None = None) -> Iterator[tuple[int, str]]:
        """Yield (candidate, text) pieces as they are decoded, greedily, one candidate per
        prompt, all side by side. The prompts share their first `fixed` messages: the prefix
        kept evaluated between calls (and on disk under `name`). `blocks` are consecutive
        pieces of that prefix's text, each read on its own after what precedes them (see
        `read`); with `assemble` their stored states are placed, else they are evaluated in
        full, as one text. `turn` is the start every prompt's own turn shares, whatever the
        question: placed like a block, so that only the question's own words are read. A
        prompt with a temperature above 0 is sampled (reproducibly) instead of greedy."""
        with self._first():
            if blocks:
                head, block_tokens, end = self._split(prompts[0][:fixed], blocks)
            else:
                text = chatml(prompts[0][:fixed], reply=False) if fixed else ""
                head, block_tokens, end = self.tokenize(text), [], ""
            texts = [end + chatml(p[fixed:]) for p in prompts]
            opening = _opening(end, turn)
            if turn and assemble and blocks and all(t.startswith(opening) for t in texts):
                block_tokens = block_tokens + [self.tokenize(opening)]
                texts = [t[len(opening):] for t in texts]
            tails = [self.tokenize(t) for t in texts]
            # Sequence 0 keeps the cached prefix; a prompt without one leaves it alone.
            seqs = list(range(self.seqs)) if fixed else list(range(1, self.seqs))
            tails = tails[: len(seqs)]
            seqs = seqs[: len(tails)]
            if fixed:
                self._ensure_head(head, name)
            read = sum(map(len, block_tokens))
            self._grow(len(self._head) + read + sum(map(len, tails)) + len(tails) * max_tokens
                       + 16)
            try:
                if assemble and block_tokens:
                    start = self._assemble(head, block_tokens)
                else:
                    flat = [t for b in block_tokens for t in b]
                    self._decode([(t, len(head) + j, 0) for j, t in enumerate(flat)], wanted=[])
                    start = len(head) + len(flat)
                for i, piece in self._decode_candidates(start if fixed else 0, tails, seqs,
                                                        max_tokens, temperatures):
                    yield i, piece
            finally:
                for s in seqs + [self._scratch]:
                    self._rm(s, len(self._head) if s == 0 else 0)

    def _decode_candidates(self, start: int, tails: list[list[int]], seqs: list[int],
                           max_tokens: int, temperatures=None) -> Iterator[tuple[int, str]]:
        """Candidate i reads on from tails[i] in sequence seqs[i]."""
        heat = list(temperatures or []) + [0.0] * len(tails)
        rng = np.random.default_rng(0)  # the same samples for the same question

        def pick(i: int, row: np.ndarray) -> int:
            if heat[i] <= 0:
                return int(np.argmax(row))
            top = np.argpartition(row, -40)[-40:]  # among the 40 likeliest tokens
            weights = np.exp((row[top] - row[top].max()) / heat[i])
            return int(rng.choice(top, p=weights / weights.sum()))

        for s in seqs[1:] if start else []:  # every sequence reads on from the shared prefix
            self.L.llama_memory_seq_cp(self._mem, 0, s, 0, start)
        items, last = [], []
        for i, tail in enumerate(tails):
            items += [(t, start + j, seqs[i]) for j, t in enumerate(tail)]
            last.append(len(items) - 1)
        logits = self._decode(items, wanted=last)
        pos = [start + len(t) for t in tails]
        texts = [codecs.getincrementaldecoder("utf-8")("replace") for _ in tails]
        current = {i: pick(i, logits[i]) for i in range(len(tails))}
        sure = {i: _logprob(logits[i], token) for i, token in current.items()}
        for _ in range(max_tokens):
            for i, token in list(current.items()):
                if self.L.llama_vocab_is_eog(self._vocab, token):
                    del current[i]
                    continue
                piece = texts[i].decode(self._piece(token))
                if piece:
                    yield i, Piece(piece, sure.pop(i))
            if not current:
                return
            rows = self._decode([(t, pos[i], seqs[i]) for i, t in current.items()],
                                wanted=range(len(current)))
            current = {i: pick(i, rows[k]) for k, i in enumerate(current)}
            for k, i in enumerate(current):
                # A piece that ends a character begun before carries its tokens' sum.
                sure[i] = sure.get(i, 0.0) + _logprob(rows[k], current[i])
            for i in current:
                pos[i] += 1


class Piece(str):
    """A piece of an answer with the log-probability the model gave its tokens."""

    def __new__(cls, text: str, logprob: float):
        piece = super().__new__(cls, text)
        piece.logprob = logprob
        return piece


def _logprob(logits: np.ndarray, token: int) -> float:
    top = float(logits.max())
    return float(logits[token]) - top - float(np.log(np.exp(logits - top).sum()))


def fingerprint(path: str, samples: int = 16, size: int = 1 << 16) -> str:
    """A model file's identity, cheaply: its size and a hash of evenly spaced pieces of it
    (hashing all of a 1 GB file would cost seconds at every start)."""
    digest, total = hashlib.sha256(), Path(path).stat().st_size
    with open(path, "rb") as f:
        for i in range(samples):
            f.seek(max(0, total - size) * i // max(1, samples - 1))
            digest.update(f.read(size))
    return f"{total}:{digest.hexdigest()[:24]}"


def rope(L, model) -> state.Rope | None:
    """How the model rotates keys, where stored readings can be moved by rotating them here;
    None where llama.cpp must move them (context scaling beyond linear, multi-part RoPE)."""
    def meta(key: str) -> str | None:
        buf = ctypes.create_string_buffer(128)
        return buf.value.decode() if L.llama_model_meta_val_str(model, key.encode(), buf,
                                                                 128) >= 0 else None

    kind, arch = L.llama_model_rope_type(model), meta("general.architecture")
    if kind not in (L.LLAMA_ROPE_TYPE_NORM, L.LLAMA_ROPE_TYPE_NEOX) or meta(
            f"{arch}.rope.scaling.type") not in (None, "none", "linear"):
        return None
    head = int(meta(f"{arch}.attention.key_length")
               or L.llama_model_n_embd(model) // L.llama_model_n_head(model))
    return state.Rope(neox=kind == L.LLAMA_ROPE_TYPE_NEOX, head=head,
                      dims=int(meta(f"{arch}.rope.dimension_count") or head),
                      base=float(meta(f"{arch}.rope.freq_base") or 10000.0),
                      scale=float(L.llama_model_rope_freq_scale_train(model)))
