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
import ctypes
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from qa.errors import ModelMissingError
from qa.llm.context import Context, _common, _quiet
from qa.llm.store import BlockStore

EOG_TEXT = ("<|im_end|>", "<|endoftext|>", "<|im_start|>")


def chatml(messages: list[dict], reply: bool = True) -> str:
    """ChatML, the template of Qwen2.5 and SmolLM2."""
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if reply else "")


class LlamaCpp(Context):
    """One model and one context; every call holds a lock, so threads take turns."""

    reads_ahead = True  # passages can be read at index time and their reading reused

    def __init__(self, path: str, name: str, threads: int, state_dir: Path | None = None,
                 n_ctx: int = 4096, seqs: int = 4, store_mb: int = 0):
        import llama_cpp as L

        if not Path(path).is_file():
            raise ModelMissingError(f"No GGUF model file at {path}. Fix --model (QA_MODEL).")
        self.L, self.name, self.threads, self.seqs = L, name, threads, seqs
        self.state_dir = state_dir
        self.store = BlockStore(state_dir / "read" if state_dir else None, store_mb)
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
        if keep < len(tokens):
            self._save(name)
        return keep

    # Reading passages once ------------------------------------------------------------------
    def _split(self, messages: list[dict], blocks: list[str]) -> tuple[list[int], list[list[int]], str]:
        """The tokens of what precedes the blocks, of each block, and the text after them: the
        messages render as head + blocks, one after another, + end."""
        text = chatml(messages, reply=False)
        joined = "".join(blocks)
        at = text.rfind(joined) if blocks else len(text)
        if at < 0:
            raise ValueError("the blocks are not one run of the messages' text")
        return self.tokenize(text[:at]), [self.tokenize(b) for b in blocks], text[at + len(joined):]

    def _key(self, head: list[int], block: list[int]) -> str:
        digest = hashlib.sha256(self.name.encode())
        digest.update(np.asarray(head, dtype=np.int32).tobytes())
        digest.update(b"|")
        digest.update(np.asarray(block, dtype=np.int32).tobytes())
        return digest.hexdigest()[:40]

    def read(self, messages: list[dict], blocks: list[str], name: str = "prefix",
             progress=None, prune: bool = False) -> dict:
        """Read each block once after the head (what the messages hold before the blocks) and
        store its state; blocks read before are skipped. With `prune`, the stored states of
        blocks not given (a removed article's) are deleted. `progress(tokens, total)` is told as
        blocks are read. The lock is taken a batch at a time, so questions are answered meanwhile."""
        with self._lock:
            head, tokens, _ = self._split(messages, blocks)
            self._ensure_head(head, name)
        todo, keys = {}, set()
        for block in tokens:
            key = self._key(head, block)
            keys.add(key)
            if key not in todo and not self.store.has(key):
                todo[key] = block
        if prune:
            self.store.keep(keys)
        t0, done, total = time.perf_counter(), 0, sum(map(len, todo.values()))
        for batch in _batches(list(todo.items()), 512, self.READERS):
            with self._lock:
                self._ensure_head(head, name)
                self._read_batch(len(head), batch)
            done += sum(len(b) for _, b in batch)
            if progress:
                progress(sum(len(b) for _, b in batch), total)
        self.store.trim()
        return {"blocks": len(blocks), "read": len(todo), "tokens": done,
                "seconds": time.perf_counter() - t0}

    def _read_batch(self, start: int, batch: list[tuple[str, list[int]]]) -> None:
        """Evaluate a few blocks side by side, each in its own sequence after the head, and
        store each block's cells alone (the head's are sequence 0's)."""
        seqs = range(1, len(batch) + 1)
        self._grow(start + sum(len(b) for _, b in batch) + 16)
        for s in seqs:
            self.L.llama_memory_seq_cp(self._mem, 0, s, 0, start)
        items = [(t, start + j, s) for s, (_, block) in zip(seqs, batch)
                 for j, t in enumerate(block)]
        try:
            self._decode(items, wanted=[])
            for s, (key, _) in zip(seqs, batch):
                self._rm(s, 0, start)  # the head stays with sequence 0
                size = self.L.llama_state_seq_get_size(self._ctx, s)
                data = (ctypes.c_uint8 * size)()
                self.L.llama_state_seq_get_data(self._ctx, data, size, s)
                self.store.put(key, bytes(data))
        finally:
            for s in seqs:
                self._rm(s, 0)

    def _assemble(self, head: list[int], blocks: list[list[int]]) -> int:
        """Sequence 0 holds the head; place each block's stored state after it, in order,
        reading any not stored yet; the position after the last block."""
        missing = [(self._key(head, b), b) for b in blocks]
        missing = list({k: b for k, b in missing if not self.store.has(k)}.items())
        for batch in _batches(missing, 512, self.READERS):
            self._read_batch(len(head), batch)
        pos, L = len(head), self.L
        self._grow(len(head) + sum(map(len, blocks)) + 16)
        for block in blocks:
            data = self.store.get(self._key(head, block))
            buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            if not L.llama_state_seq_set_data(self._ctx, buf, len(data), self._scratch):
                raise RuntimeError("llama.cpp could not load a passage's stored reading")
            # Read at positions right after the head; moved to where this block now stands.
            L.llama_memory_seq_add(self._mem, self._scratch, -1, -1, pos - len(head))
            L.llama_memory_seq_cp(self._mem, self._scratch, 0, -1, -1)
            self._rm(self._scratch, 0)
            pos += len(block)
        return pos

    # Generation -----------------------------------------------------------------------------
    def generate(self, prompts: list[list[dict]], *, fixed: int = 0, max_tokens: int = 200,
                 name: str = "prefix", blocks: list[str] | None = None,
                 assemble: bool = True) -> Iterator[tuple[int, str]]:
        """Yield (candidate, text) pieces as they are decoded, greedily, one candidate per
        prompt, all side by side. The prompts share their first `fixed` messages: the prefix
        kept evaluated between calls (and on disk under `name`). `blocks` are consecutive
        pieces of that prefix's text, each read on its own after what precedes them (see
        `read`); with `assemble` their stored states are placed, else they are evaluated in
        full, as one text."""
        with self._lock:
            if blocks:
                head, block_tokens, end = self._split(prompts[0][:fixed], blocks)
            else:
                text = chatml(prompts[0][:fixed], reply=False) if fixed else ""
                head, block_tokens, end = self.tokenize(text), [], ""
            tails = [self.tokenize(end + chatml(p[fixed:])) for p in prompts]
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
                                                        max_tokens):
                    yield i, piece
            finally:
                for s in seqs + [self._scratch]:
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


def _batches(items: list[tuple[str, list[int]]], tokens: int, most: int):
    """Consecutive runs of (key, block) items of at most `tokens` tokens and `most` items."""
    batch, size = [], 0
    for key, block in items:
        if batch and (size + len(block) > tokens or len(batch) == most):
            yield batch
            batch, size = [], 0
        batch.append((key, block))
        size += len(block)
    if batch:
        yield batch
