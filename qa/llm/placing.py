"""Passages read once and placed per question: the part of the llama.cpp backend that reads
each block of a prompt once, after what precedes it, stores its cells (qa/llm/state.py,
qa/llm/store.py), and places stored cells one after another at question time, positions
shifted (independent attention with re-ordered positions, as in TurboRAG)."""
from __future__ import annotations

import hashlib
import json
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from qa.llm import state
from qa.llm.context import Context, _opening, chatml

log = logging.getLogger(__name__)


class Placing(Context):
    """Reading ahead and placing; `tokenize`, `_ensure_head`, `_lock`, `store`, `stamp` and
    `store_type` come from the backend."""

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
        """A reading's name: what it was read after, its tokens, and how it is stored (another
        model, build or store type reads it anew under another name)."""
        digest = hashlib.sha256(self.name.encode())
        digest.update(json.dumps([self.stamp, self.store_type], sort_keys=True).encode())
        digest.update(np.asarray(head, dtype=np.int32).tobytes())
        digest.update(b"|")
        digest.update(np.asarray(block, dtype=np.int32).tobytes())
        return digest.hexdigest()[:40]

    def read(self, messages: list[dict], blocks: list[str], name: str = "prefix",
             progress=None, prune: bool = False, batch_tokens: int = 512,
             turn: str = "") -> dict:
        """Read each block once after the head (what the messages hold before the blocks) and
        store its state; blocks read before are skipped. With `prune`, the stored states of
        blocks not given (a removed article's) are deleted. `progress(tokens, total)` is told as
        blocks are read. The lock is taken a batch of `batch_tokens` at a time, and a question
        waiting for it goes first, so questions are answered meanwhile. `turn`: the start of
        every question's turn (see `generate`), read too."""
        with self._lock:
            head, tokens, end = self._split(messages, blocks)
            self._ensure_head(head, name)
        if turn:
            tokens.append(self.tokenize(_opening(end, turn)))
        todo, keys = {}, set()
        for block in tokens:
            key = self._key(head, block)
            keys.add(key)
            if key not in todo and not self.store.has(key):
                todo[key] = block
        if prune:
            self.store.keep(keys)
        t0, done, total = time.perf_counter(), 0, sum(map(len, todo.values()))
        pending = list(todo.items())
        while pending:
            while self._waiting:  # a question is waiting: it goes first
                time.sleep(0.005)
            with self._lock:
                # A question may have read some of these meanwhile.
                pending = [(k, b) for k, b in pending if not self.store.has(k)]
                batch = next(_batches(pending, batch_tokens, self.READERS), [])
                if batch:
                    self._ensure_head(head, name)
                    self._read_batch(len(head), batch)
            pending = pending[len(batch):]
            done += sum(len(b) for _, b in batch)
            if progress and batch:
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
            for s, (key, block) in zip(seqs, batch):
                self._rm(s, 0, start)  # the head stays with sequence 0
                self.store.put(key, state.encode(self._cells(s), self._expected(
                    key, start, len(block)), state.kind(self.store_type, len(block))))
        finally:
            for s in seqs:
                self._rm(s, 0)

    def _expected(self, key: str, start: int, count: int) -> dict:
        """The header of the stored reading `key`: a block of `count` tokens read after `start`
        tokens of instructions (its key names both), by this model and build."""
        return dict(self.stamp, key=key, quant=state.kind(self.store_type, count), start=start,
                    cells=count)

    def _assemble(self, head: list[int], blocks: list[list[int]]) -> int:
        """Sequence 0 holds the head; place each block's stored state after it, in order,
        reading any not stored yet; the position after the last block. Readings are decoded
        two at a time in threads (numpy and ggml let go of Python's lock); where the model's
        RoPE is known each is moved to its place while decoded and all go to llama.cpp as one
        state, else each is loaded and moved by llama.cpp."""
        missing = [(self._key(head, b), b) for b in blocks]
        missing = list({k: b for k, b in missing if not self.store.has(k)}.items())
        for batch in _batches(missing, 512, self.READERS):
            self._read_batch(len(head), batch)
        self._grow(len(head) + sum(map(len, blocks)) + 16)
        # Each block was read at positions right after the head; it moves to where it stands.
        ends = np.cumsum([len(head)] + [len(b) for b in blocks])
        moves = [int(at) - len(head) for at in ends[:-1]]
        with ThreadPoolExecutor(2) as pool:
            decoded = [pool.submit(self._decode_reading, head, b, m)
                       for b, m in zip(blocks, moves)]
            if self.rope:
                cells = [self._checked(head, b, m, d) for b, m, d in zip(blocks, moves, decoded)]
                self._load_cells(cells)
            else:
                for block, moved, cells in zip(blocks, moves, decoded):
                    self._load_cells([self._checked(head, block, moved, cells)], moved)
        return int(ends[-1])

    def _decode_reading(self, head: list[int], block: list[int], moved: int) -> state.Cells:
        """A block's cells from its stored reading, moved where the RoPE is known."""
        key = self._key(head, block)
        return state.decode(self.store.get(key), self._expected(key, len(head), len(block)),
                            moved, self.rope)[1]

    def _checked(self, head: list[int], block: list[int], moved: int,
                 decoded: Future) -> state.Cells:
        """A block's decoded cells; a reading that does not hold (damaged, cut short, made by
        another model or build) is read again first."""
        try:
            return decoded.result()
        except (OSError, state.BadReading) as e:
            key = self._key(head, block)
            log.warning("a stored reading (%s) was read again: %s", key[:12], e)
            self.store.drop(key)
            self._read_batch(len(head), [(key, block)])
            try:
                return self._decode_reading(head, block, moved)
            except (OSError, state.BadReading) as again:
                raise RuntimeError(f"a passage read again could not be placed: {again}")

    def _load_cells(self, cells: list[state.Cells], moved: int = 0) -> None:
        """Cells that follow one another into sequence 0 (through the scratch sequence, as
        llama.cpp empties the sequence it loads into), moved `moved` positions by llama.cpp."""
        L = self.L
        if not self._put(cells, self._scratch):
            self._rm(self._scratch, 0)
            raise RuntimeError("llama.cpp could not load the passages' stored readings")
        if moved:
            L.llama_memory_seq_add(self._mem, self._scratch, -1, -1, moved)
        L.llama_memory_seq_cp(self._mem, self._scratch, 0, -1, -1)
        self._rm(self._scratch, 0)


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
