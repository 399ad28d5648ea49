"""The answering LLM, behind one interface whatever runs it.

A backend has `name`, `reads_ahead` (whether it can read passages at index time and reuse that
reading for every question), `count_tokens(text)`, `read(messages, blocks, name=)` (read each
block of the messages once, after what precedes them, and keep it) and
`generate(prompts, fixed=, max_tokens=, name=, blocks=, assemble=)`, which yields (candidate,
text) pieces: one greedy answer per prompt, written side by side where the backend can.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from qa.config import Config
from qa.llm.models import NAMED, gguf_path


def load_llm(config: Config, state_dir: Path | None = None):
    """The configured backend; one per process for a given model."""
    if config.llm == "openai":
        from qa.llm.openai import OpenAICompatible

        return OpenAICompatible(config.api_base, config.model, config.api_key, config.timeout)
    return _local(local_model_path(config), model_name(config), config.threads,
                  str(state_dir) if state_dir else "", config.store_mb, config.store_type)


@lru_cache(maxsize=2)
def _local(path: str, name: str, threads: int, state_dir: str, store_mb: int = 0,
           store_type: str = "q4"):
    from qa.llm.llamacpp import LlamaCpp

    return LlamaCpp(path, name, threads, Path(state_dir) if state_dir else None,
                    store_mb=store_mb, store_type=store_type)


def _packaged(config: Config):
    """The packaged model `--model` names (the default if none), or None for a GGUF path."""
    return NAMED.get(config.model or next(iter(NAMED)))


def local_model_path(config: Config) -> str:
    """The GGUF file of the configured local model: a named packaged one or a path."""
    spec = _packaged(config)
    return str(gguf_path(config.model_dir, spec)) if spec else config.model


def model_name(config: Config) -> str:
    if config.llm == "openai":
        return f"openai:{config.model}"
    spec = _packaged(config)
    return spec.name.removesuffix(".gguf") if spec else Path(config.model).stem
