"""The answering LLM: a local GGUF through llama.cpp, or an OpenAI-compatible endpoint."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from qa.config import Config
from qa.errors import LLMUnavailableError, ModelMissingError
from qa.models import gguf_path

STOP = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]


def chatml(messages) -> str:
    """ChatML, the template of Qwen2.5 and SmolLM2. llama-index's default format made Qwen loop."""
    parts = [f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n"


def load_llm(config: Config):
    """A llama-index LLM; one per process for a given model."""
    if config.llm == "openai":
        return _openai(config.api_base, config.model, config.api_key, config.timeout,
                       config.max_tokens)
    path = config.model or str(gguf_path(config.model_dir))
    if not Path(path).is_file():
        raise ModelMissingError(f"No GGUF model file at {path}. Fix --model (or QA_MODEL).")
    return _local(path, config.threads, config.context_window, config.max_tokens)


def model_name(config: Config) -> str:
    if config.llm == "openai":
        return f"openai:{config.model}"
    return Path(config.model).name if config.model else "qwen2.5-coder-1.5b-instruct-q4_k_m"


@lru_cache(maxsize=2)
def _local(path: str, threads: int, context_window: int, max_tokens: int):
    from llama_index.llms.llama_cpp import LlamaCPP

    def completion_to_prompt(text: str) -> str:
        return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"

    return LlamaCPP(
        model_path=path,
        temperature=0.0,  # greedy: the same question gets the same answer
        max_new_tokens=max_tokens,
        context_window=context_window,
        generate_kwargs={"stop": STOP, "repeat_penalty": 1.0},
        model_kwargs={"n_threads": threads, "n_batch": 512},
        messages_to_prompt=chatml,
        completion_to_prompt=completion_to_prompt,
        verbose=False,
    )


@lru_cache(maxsize=4)
def _openai(api_base: str, model: str, api_key: str, timeout: float, max_tokens: int):
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=model,
        api_base=api_base,
        api_key=api_key or "not-needed",
        is_chat_model=True,
        temperature=0.0,
        max_tokens=max_tokens,
        timeout=timeout,
        max_retries=0,
    )


def unavailable(config: Config, error: Exception) -> LLMUnavailableError:
    """A readable error for a failed call; never includes the API key."""
    what = f"{type(error).__name__}"
    return LLMUnavailableError(
        f"The LLM endpoint {config.api_base} did not answer ({what}) within {config.timeout:g}s. "
        "Check that the server is running and --api-base points at its /v1 URL, or raise "
        "--timeout (QA_TIMEOUT)."
    )
