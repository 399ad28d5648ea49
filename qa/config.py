"""Every setting in one place: defaults here, overridden by `QA_*` variables, then by CLI flags."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import ConfigError


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@dataclass
class Config:
    # Storage
    data_dir: Path = Path(".qa")
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 to use a Chroma server
    collection: str = "articles"
    # Indexing. Sizes in tokens of llama-index's default tokenizer; chosen by measurement
    # (README: "Choosing the passage size").
    chunk_size: int = 128
    chunk_overlap: int = 24
    embed_batch_size: int = 32
    # Retrieval
    top_k: int = 8  # passages retrieved; the model reads their best sentences
    context_chars: int = 1600  # of passage text the model reads (0: whole passages): prompt
    # tokens are the main cost of an answer on a CPU
    candidates: int = 12  # per retriever, before fusion
    min_similarity: float = 0.22  # below this best cosine similarity, refuse without the LLM
    # Refuse if the local model gives "The articles do not say." at least this probability; off
    # (1.0) by default, as it trades answers for refusals one for one (README: "Refusals").
    refusal_threshold: float = 1.0
    # LLM
    llm: str = "local"  # "local" (llama.cpp) or "openai" (any OpenAI-compatible endpoint)
    model: str = ""  # GGUF path for local (default: the packaged Qwen2.5-Coder-1.5B), model name for openai
    model_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "qa" / "models")
    api_base: str = ""
    api_key: str = field(default="", repr=False)  # QA_API_KEY or OPENAI_API_KEY; never shown
    timeout: float = 60.0  # seconds to wait for a hosted LLM
    max_tokens: int = 200
    context_window: int = 4096
    threads: int = field(default_factory=_cores)
    # Input limits
    max_question_chars: int = 1000
    max_file_mb: int = 100  # larger files are skipped with a note

    @classmethod
    def load(cls, **overrides) -> "Config":
        """Defaults, then `QA_<FIELD>` environment variables, then non-None keyword overrides."""
        values = {}
        for f in dataclasses.fields(cls):
            raw = os.environ.get(f"QA_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f, raw, f"QA_{f.name.upper()}")
        if "api_key" not in values and os.environ.get("OPENAI_API_KEY"):
            values["api_key"] = os.environ["OPENAI_API_KEY"]
        names = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in overrides.items():
            if key not in names:
                raise ConfigError(f"Unknown setting {key!r}; known settings: {', '.join(names)}.")
            if value is not None:
                values[key] = _coerce(names[key], value, key) if isinstance(value, str) else value
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.model_dir = Path(self.model_dir)
        if self.llm not in ("local", "openai"):
            raise ConfigError(f"llm must be 'local' or 'openai', not {self.llm!r}.")
        if self.llm == "openai" and not (self.api_base and self.model):
            raise ConfigError(
                "The openai LLM needs an endpoint and a model name: "
                "--api-base http://host:port/v1 --model NAME (or QA_API_BASE, QA_MODEL)."
            )
        for name in ("top_k", "candidates", "chunk_size", "max_tokens", "threads", "max_question_chars",
                     "max_file_mb"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}.")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError("chunk_overlap must be between 0 and chunk_size - 1.")

    def public(self) -> dict:
        """Settings safe to show or log: the API key is masked."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["api_key"] = "***" if self.api_key else ""
        return {k: str(v) if isinstance(v, Path) else v for k, v in d.items()}


def _coerce(f: dataclasses.Field, raw: str, where: str):
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("Path"):
            return Path(raw).expanduser()
        return raw
    except ValueError:
        raise ConfigError(f"{where} must be a {kind.split()[0]}, not {raw!r}.") from None
