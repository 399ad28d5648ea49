"""Every setting, declared once: its type, default and help give the `QA_*` variable, the CLI
flag and the README's settings table."""
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


def setting(default, help: str, *, flag: bool = True, factory=None, shown=None):
    """A Config field with its help text; `flag=False` keeps it off the command line (a secret
    would show in `ps`), `shown` is the default as the README prints it."""
    meta = {"help": help, "flag": flag, "shown": shown}
    if factory is not None:
        return field(default_factory=factory, metadata=meta, repr=flag)
    return field(default=default, metadata=meta, repr=flag)


@dataclass
class Config:
    # Storage
    data_dir: Path = setting(Path(".qa"), "where the index and the model's reading of it live")
    chroma_url: str = setting("", "a Chroma server to use instead, e.g. http://127.0.0.1:8000")
    collection: str = setting("articles", "the Chroma collection's name")
    # Indexing
    chunk_size: int = setting(128, "passage size in tokens (re-index after changing it)")
    max_file_mb: int = setting(100, "larger files are skipped with a note")
    # The LLM
    llm: str = setting("local", "`local` (llama.cpp) or `openai` (any OpenAI-compatible endpoint)")
    model: str = setting("", "local: `qwen2.5-coder-1.5b` (default), `qwen2.5-coder-0.5b` or a "
                             "GGUF path; openai: the model's name", shown="qwen2.5-coder-1.5b")
    api_base: str = setting("", "the endpoint's URL, e.g. http://127.0.0.1:8080/v1")
    api_key: str = setting("", "key for the hosted LLM (or OPENAI_API_KEY); never printed",
                           flag=False)
    timeout: float = setting(60.0, "seconds to wait for a hosted LLM")
    model_dir: Path = setting(None, "where the local model is assembled from its packages",
                              factory=lambda: Path.home() / ".cache" / "qa" / "models",
                              shown="~/.cache/qa/models")
    threads: int = setting(0, "llama.cpp threads", factory=_cores, shown="all cores")
    # Reading the articles
    top_k: int = setting(16, "passages the model reads for a question (hybrid retrieval)")
    retrieve_candidates: int = setting(24, "passages each retriever returns before fusion")
    assemble: int = setting(1, "1: place the passages' stored readings; 0: evaluate the same "
                               "text in full (slow; for comparison)")
    store_mb: int = setting(0, "most disk the stored readings take, in MB (0: a quarter of the "
                               "free disk); the least recently used are read again when needed")
    store_type: str = setting("q4", "stored readings on disk: `q4` (4-bit), `q8` or `f16` (exact)")
    min_similarity: float = setting(0.3, "refuse without the LLM when no sentence is this "
                                         "similar to the question (cosine)")
    # Answering
    answers: int = setting(1, "most candidate answers: the question's (and parts'), then one "
                              "per next best article alone")
    samples: int = setting(0, "answers sampled (temperature 0.7) for the decision to choose from")
    focus: int = setting(3, "sentences (the best of each best-matching article) shown again "
                            "with the question")
    disagreements: int = setting(1, "1: state each article's differing count or date with its "
                                    "source; 0: off")
    timeline_passages: int = setting(40, "passages a timeline (`qa timeline`) is made from")
    max_tokens: int = setting(120, "longest answer, in tokens")
    decision: str = setting("checks", "what keeps or cuts a claim: `checks` (the grounding "
                                      "checks), `fitted` (qa/decision.json) or a `qa fit` file")
    max_question_chars: int = setting(1000, "longer questions are refused with a message")

    @classmethod
    def load(cls, **overrides) -> "Config":
        """Defaults, then `QA_<FIELD>` environment variables, then non-None keyword overrides."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for name, f in fields.items():
            raw = os.environ.get(env_name(name))
            if raw:
                values[name] = _coerce(f, raw, env_name(name))
        if "api_key" not in values and os.environ.get("OPENAI_API_KEY"):
            values["api_key"] = os.environ["OPENAI_API_KEY"]
        for key, value in overrides.items():
            if key not in fields:
                raise ConfigError(f"Unknown setting {key!r}; known settings: {', '.join(fields)}.")
            if value is not None:
                values[key] = _coerce(fields[key], value, key) if isinstance(value, str) else value
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        self.data_dir, self.model_dir = Path(self.data_dir), Path(self.model_dir)
        if self.llm not in ("local", "openai"):
            raise ConfigError(f"llm must be 'local' or 'openai', not {self.llm!r}.")
        if self.llm == "openai" and not (self.api_base and self.model):
            raise ConfigError("The openai LLM needs an endpoint and a model name: --api-base "
                              "http://host:port/v1 --model NAME (or QA_API_BASE, QA_MODEL).")
        if self.store_type not in ("q4", "q8", "f16"):
            raise ConfigError(f"store_type must be q4, q8 or f16, not {self.store_type!r}.")
        for name in ("top_k", "retrieve_candidates", "chunk_size", "max_tokens", "threads",
                     "timeline_passages",
                     "max_question_chars", "max_file_mb", "answers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}.")
        for name in ("store_mb", "focus", "samples", "disagreements"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, not {getattr(self, name)}.")
        for name in ("min_similarity",):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be between 0 and 1, not {getattr(self, name)}.")

    def public(self) -> dict:
        """Settings safe to show or log: the API key is masked."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["api_key"] = "***" if self.api_key else ""
        return {k: str(v) if isinstance(v, Path) else v for k, v in d.items()}


def env_name(name: str) -> str:
    return f"QA_{name.upper()}"


def settings() -> list[dataclasses.Field]:
    return list(dataclasses.fields(Config))


def type_name(f: dataclasses.Field) -> str:
    return f.type if isinstance(f.type, str) else f.type.__name__


def settings_table() -> str:
    """The README's table of settings, made from the declarations above."""
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for f in settings():
        default = f.metadata["shown"] or (f.default if f.default not in ("", None) else "none")
        flag = f"`--{f.name.replace('_', '-')}`" if f.metadata["flag"] else ""
        rows.append(f"| {flag} | `{env_name(f.name)}` | {default} | {f.metadata['help']} |")
    return "\n".join(rows)


def _coerce(f: dataclasses.Field, raw: str, where: str):
    kind = type_name(f)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw).expanduser()
        return raw
    except ValueError:
        raise ConfigError(f"{where} must be a{'n' * (kind == 'int')} {kind}, not {raw!r}.") from None
