"""A passage's stored reading on disk: llama.cpp's cells for it, checked and made smaller.

llama.cpp's sequence state (`llama_state_seq_get_data`) carries no version, model or checksum,
and its restore path can abort the process on malformed input. So a reading is stored in a
file of the product's own: a header naming everything the cells depend on, a checksum, and the
cells' keys and values, quantised. A file is checked in full before llama.cpp sees a byte of
it, and llama.cpp is only ever handed a state this module built from checked arrays.

Quantisation is for the disk only: the context keeps f16 cells (llama.cpp's quantised caches
made placed questions 2-3x slower to evaluate; docs/log.md), so a reading is dequantised as
it is placed. Keys and values are both quantised per channel, over groups of 32 cells: keys
vary most from channel to channel (KIVI, Liu et al., ICML 2024), and values so err no more than
per cell (0.09 against 0.10 mean relative error at 4 bits), without transposing llama.cpp's
layout for them. The quantisers are ggml's own (qa/llm/ggml.py).
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from qa.llm import ggml

MAGIC = b"QAKV"
FORMAT = 1
F16 = 1
# How each store type keeps keys and values. Keys carry large per-channel offsets (Qwen2's
# key bias): a symmetric 4-bit block spends its levels on the offset and the answers fall
# apart, so 4-bit keys keep a minimum per block (q4_1); values do well without.
KINDS = {"f16": ("f16", "f16"), "q8": ("q8_0", "q8_0"), "q4": ("q4_1", "q4_0")}
GROUP = 32
LLAMA_MAGIC = 0xAF143CD8  # llama.cpp's sequence states start with it, then the sequence id


class BadReading(ValueError):
    """A stored reading that cannot be used: damaged, cut short, or made for another setup."""


@dataclass
class Cells:
    """One sequence's cells at positions start, start + 1, ...: keys [layer, cell, channel] and
    values [layer, channel, cell] (transposed, as llama.cpp keeps them without flash attention),
    both float16."""

    start: int
    k: np.ndarray
    v: np.ndarray

    @property
    def count(self) -> int:
        return self.k.shape[1]


# llama.cpp's sequence state ------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = memoryview(data), 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.at + n > len(self.data):
            raise BadReading("llama.cpp's state ends early")
        out = self.data[self.at: self.at + n]
        self.at += n
        return out

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def i32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]


def parse(blob: bytes) -> Cells:
    """The cells of one sequence's state as llama.cpp wrote it (one stream, f16, V transposed,
    consecutive positions)."""
    r = _Reader(blob)
    if r.u32() != LLAMA_MAGIC:
        raise BadReading("not a llama.cpp sequence state of this version")
    r.i32()  # the sequence it was read in
    if r.u32() != 1:
        raise BadReading("expected one stream")
    count = r.u32()
    if count == 0:
        raise BadReading("no cells")
    pos = []
    for _ in range(count):
        pos.append(r.i32())
        seqs = r.u32()
        r.take(4 * seqs)
    if pos != list(range(pos[0], pos[0] + count)):
        raise BadReading("positions are not consecutive")
    v_trans, layers = r.u32(), r.u32()
    if v_trans != 1:
        raise BadReading("values are not transposed (flash attention was on)")
    k = []
    for _ in range(layers):
        kind, row = r.i32(), r.u64()
        if kind != F16 or row % 2:
            raise BadReading("keys are not f16")
        k.append(np.frombuffer(r.take(count * row), dtype=np.float16).reshape(count, row // 2))
    v = []
    for _ in range(layers):
        kind, size, width = r.i32(), r.u32(), r.u32()
        if kind != F16 or size != 2:
            raise BadReading("values are not f16")
        v.append(np.frombuffer(r.take(width * count * 2), dtype=np.float16).reshape(width, count))
    if r.at != len(blob):
        raise BadReading("llama.cpp's state has bytes left over")
    return Cells(pos[0], np.stack(k), np.stack(v))


def build(cells: Cells | list[Cells], seq: int = 0) -> np.ndarray:
    """The state llama.cpp reads back with `llama_state_seq_set_data`, as bytes in an array
    (handed to llama.cpp without another copy); several cells that follow one another make
    one state."""
    runs = cells if isinstance(cells, list) else [cells]
    layers, _, k_width = runs[0].k.shape
    v_width, start = runs[0].v.shape[1], runs[0].start
    count = sum(c.count for c in runs)
    if any(c.start != start + sum(r.count for r in runs[:i]) for i, c in enumerate(runs)):
        raise ValueError("the cells do not follow one another")
    k_row, v_rows = 12 + 2 * k_width * count, 12 + 2 * v_width * count
    meta = 16 + 12 * count
    out = np.empty(meta + 8 + layers * (k_row + v_rows), dtype=np.uint8)
    out[:16] = np.frombuffer(struct.pack("<IiII", LLAMA_MAGIC, seq, 1, count), np.uint8)
    cell = out[16: meta].view(np.int32).reshape(count, 3)
    cell[:, 0], cell[:, 1], cell[:, 2] = np.arange(start, start + count), 1, seq
    out[meta: meta + 8] = np.frombuffer(struct.pack("<II", 1, layers), np.uint8)
    at = meta + 8
    for layer in range(layers):
        out[at: at + 12] = np.frombuffer(struct.pack("<iQ", F16, 2 * k_width), np.uint8)
        keys = out[at + 12: at + k_row].view(np.float16).reshape(count, k_width)
        _fill(keys, [c.k[layer] for c in runs], axis=0)
        at += k_row
    for layer in range(layers):
        out[at: at + 12] = np.frombuffer(struct.pack("<iII", F16, 2, v_width), np.uint8)
        values = out[at + 12: at + v_rows].view(np.float16).reshape(v_width, count)
        _fill(values, [c.v[layer] for c in runs], axis=1)
        at += v_rows
    return out


def _fill(into: np.ndarray, parts: list[np.ndarray], axis: int) -> None:
    at = 0
    for part in parts:
        n = part.shape[axis]
        if axis == 0:
            into[at: at + n] = part
        else:
            into[:, at: at + n] = part
        at += n


def kind(quant: str, count: int) -> str:
    """How a reading of `count` cells is stored: a block shorter than one group of cells
    (a passage's number, a label) is kept exact, as padding it would take more room."""
    return quant if count >= GROUP else "f16"


# The product's file --------------------------------------------------------------------------
def encode(cells: Cells, header: dict, quant: str) -> bytes:
    """A stored reading: magic, header (what the cells depend on), checksum, quantised cells."""
    layers, count, k_width = cells.k.shape
    v_width = cells.v.shape[1]
    k_kind, v_kind = KINDS[quant]
    width = _padded(count, quant)
    payload = (ggml.quantize(_channels(cells.k.transpose(0, 2, 1), width), k_kind)
               + ggml.quantize(_channels(cells.v, width), v_kind))
    head = dict(header, format=FORMAT, quant=quant, start=cells.start, cells=count,
                layers=layers, k_width=k_width, v_width=v_width)
    text = json.dumps(head, sort_keys=True).encode()
    return b"".join([MAGIC, struct.pack("<I", len(text)), text,
                     struct.pack("<I", zlib.crc32(payload)), payload])


def _padded(count: int, quant: str) -> int:
    """Cells stored: quantised blocks take whole groups of 32."""
    return count if quant == "f16" else -(-count // GROUP) * GROUP


def _channels(x: np.ndarray, width: int) -> np.ndarray:
    """[layer, channel, cell] values as float32 rows `width` cells long; the last cell
    repeated as padding, so that padding stretches no group's range."""
    count = x.shape[2]
    padded = np.empty(x.shape[:2] + (width,), dtype=np.float32)
    padded[:, :, :count] = x
    padded[:, :, count:] = x[:, :, count - 1: count]
    return padded


def decode(data: bytes, expected: dict, move: int = 0,
           rope: Rope | None = None) -> tuple[dict, Cells]:
    """The header and cells of a stored reading, once its header matches `expected` and its
    checksum its bytes (BadReading otherwise); with `rope`, moved `move` positions later."""
    header, payload = _split(data)
    for key, want in dict(expected, format=FORMAT).items():
        if header.get(key) != want:
            raise BadReading(f"made with {key} {header.get(key)!r}, not {want!r}")
    try:
        layers, count, start = int(header["layers"]), int(header["cells"]), int(header["start"])
        k_width, v_width, quant = int(header["k_width"]), int(header["v_width"]), header["quant"]
    except (KeyError, TypeError, ValueError):
        raise BadReading("its header is incomplete") from None
    if quant not in KINDS or min(layers, count, k_width, v_width) < 1 or start < 0:
        raise BadReading("its header is not one this version writes")
    k_kind, v_kind = KINDS[quant]
    padded = _padded(count, quant)
    k_bytes = _size(layers * k_width * padded, k_kind)
    if len(payload) != k_bytes + _size(layers * v_width * padded, v_kind):
        raise BadReading("its size does not match its header")
    keys = ggml.dequantize(payload[:k_bytes], (layers, k_width, padded), k_kind, f16=False)
    if rope and move:
        keys = rope.rotate(keys, move)
        start += move
    values = ggml.dequantize(payload[k_bytes:], (layers, v_width, padded), v_kind)
    return header, Cells(start, ggml.half(keys)[:, :, :count].transpose(0, 2, 1),
                         values[:, :, :count])


@dataclass
class Rope:
    """How the model rotates keys by position (llama.cpp's RoPE without context scaling):
    keys read at position p are moved to p + d by rotating them by d more, exactly what
    llama.cpp's K-shift does, but only for the cells being placed and before they are
    loaded (its shift pass runs over every cell of the context, 0.2 s at 4,096)."""

    neox: bool  # pairs (i, i + dims/2) of each head; else (2i, 2i + 1)
    dims: int  # dimensions rotated in each head
    head: int  # dimensions of each head
    base: float
    scale: float = 1.0

    def rotate(self, keys: np.ndarray, move: int) -> np.ndarray:
        """Float32 keys [layer, channel, cell] rotated by `move` positions (in place where
        they are contiguous)."""
        keys = np.ascontiguousarray(keys)
        layers, width, cells = keys.shape
        heads = keys.reshape(layers, width // self.head, self.head, cells)[:, :, : self.dims]
        half = self.dims // 2
        if self.neox:
            a, b = heads[:, :, :half], heads[:, :, half:]
        else:
            a, b = heads[:, :, 0::2], heads[:, :, 1::2]
        angle = move * self.scale * self.base ** (-2.0 * np.arange(half) / self.dims)
        cos = np.cos(angle).astype(np.float32)[:, None]
        sin = np.sin(angle).astype(np.float32)[:, None]
        a_old = a.copy()
        a *= cos
        a -= b * sin
        b *= cos
        b += a_old * sin
        return keys


def _split(data: bytes) -> tuple[dict, bytes]:
    if len(data) < 8 or data[:4] != MAGIC:
        raise BadReading("not a stored reading of this product")
    (size,) = struct.unpack("<I", data[4:8])
    if 8 + size + 4 > len(data):
        raise BadReading("it is cut short")
    try:
        header = json.loads(data[8: 8 + size])
    except (ValueError, UnicodeDecodeError):
        raise BadReading("its header is damaged") from None
    digest, payload = data[8 + size: 8 + size + 4], data[8 + size + 4:]
    if not isinstance(header, dict):
        raise BadReading("its header is damaged")
    if struct.pack('<I', zlib.crc32(payload)) != digest:
        raise BadReading("its checksum does not match (damaged or cut short)")
    return header, payload


def _size(values: int, kind: str) -> int:
    return 2 * values if kind == "f16" else values // GROUP * ggml.TYPES[kind][1]
