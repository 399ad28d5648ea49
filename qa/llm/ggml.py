"""ggml's own quantisers and float16 conversion, reached through the library llama-cpp-python
ships: C speed for the stored readings (qa/llm/state.py) without a compiler."""
from __future__ import annotations

import ctypes
from functools import lru_cache
from pathlib import Path

import numpy as np

# ggml's type numbers, and bytes per block of 32 values.
TYPES = {"q8_0": (8, 34), "q4_0": (2, 18), "q4_1": (3, 20)}


class _Traits(ctypes.Structure):
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", ctypes.c_void_p),
                ("from_float_ref", ctypes.c_void_p)]


@lru_cache(maxsize=1)
def _ggml():
    import llama_cpp

    folder = Path(llama_cpp.__file__).parent / "lib"
    base = ctypes.CDLL(str(folder / "libggml-base.so"))
    cpu = ctypes.CDLL(str(folder / "libggml-cpu.so"))
    base.ggml_get_type_traits.restype = ctypes.POINTER(_Traits)
    base.ggml_quantize_chunk.restype = ctypes.c_size_t
    base.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                         ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                         ctypes.c_void_p]
    cpu.ggml_cpu_fp32_to_fp16.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    to_float = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)
    kinds = {name: to_float(base.ggml_get_type_traits(t).contents.to_float)
             for name, (t, _) in TYPES.items()}
    return base, cpu, kinds


def quantize(x: np.ndarray, quant: str) -> bytes:
    """float32 values, rows a multiple of 32 long, as ggml's `quant` blocks."""
    if quant == "f16":
        return x.astype(np.float16).tobytes()
    base, _, _ = _ggml()
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty(x.size // 32 * TYPES[quant][1], dtype=np.uint8)
    row = x.shape[-1]
    base.ggml_quantize_chunk(TYPES[quant][0], x.ctypes.data, out.ctypes.data, 0,
                             x.size // row, row, None)
    return out.tobytes()


def dequantize(data: bytes, shape: tuple, quant: str, f16: bool = True) -> np.ndarray:
    """Values of `shape` from `quant` blocks: float16, or float32 with `f16` False."""
    if quant == "f16":
        exact = np.frombuffer(data, dtype=np.float16).reshape(shape)
        return exact if f16 else exact.astype(np.float32)
    _, _, kinds = _ggml()
    src = np.frombuffer(data, dtype=np.uint8)
    wide = np.empty(shape, dtype=np.float32)
    kinds[quant](src.ctypes.data, wide.ctypes.data, wide.size)
    return half(wide) if f16 else wide


def half(x: np.ndarray) -> np.ndarray:
    """float32 as float16, with ggml's vectorised conversion."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty(x.shape, dtype=np.float16)
    _ggml()[1].ggml_cpu_fp32_to_fp16(x.ctypes.data, out.ctypes.data, x.size)
    return out
