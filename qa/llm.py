"""The answering LLM: a local GGUF through llama.cpp, or an OpenAI-compatible endpoint."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from qa.config import Config
from qa.errors import LLMUnavailableError, ModelMissingError
from qa.models import NAMED, gguf_path

STOP = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]


def chatml(messages, reply: bool = True) -> str:
    """ChatML, the template of Qwen2.5 and SmolLM2. llama-index's default format made Qwen loop."""
    parts = [f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages]
    return "".join(parts) + ("<|im_start|>assistant\n" if reply else "")


def load_llm(config: Config):
    """A llama-index LLM; one per process for a given model."""
    if config.llm == "openai":
        return _openai(config.api_base, config.model, config.api_key, config.timeout,
                       config.max_tokens)
    path = local_model_path(config)
    if not Path(path).is_file():
        raise ModelMissingError(
            f"No GGUF model file at {path}. Fix --model (or QA_MODEL): a GGUF path, or one of "
            f"{', '.join(NAMED)}.")
    return _local(path, config.threads, config.context_window, config.max_tokens)


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
    return spec.name.removesuffix(".gguf") if spec else Path(config.model).name


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


def start_after(llm, messages, fixed: int) -> None:
    """Make the local model read `messages` on from the end of its first `fixed` ones.

    llama.cpp reuses the longest prefix a prompt shares with the previous one, so where
    evaluation restarted, and with it the floating-point sums, depended on the previous
    question: greedy decoding gave the same question different answers in different sessions.
    Keeping exactly the fixed part (instructions and worked example) cached makes an answer
    depend on its own prompt only, and still spares re-reading that part.
    """
    model = getattr(llm, "_model", None)
    if model is None or not hasattr(model, "eval"):
        return
    # Tokenised as llama-cpp-python tokenises a prompt, so that the two prefixes line up.
    prompt = model.tokenize(chatml(messages).encode("utf-8"), special=True)
    head = model.tokenize(chatml(messages[:fixed], reply=False).encode("utf-8"), special=True)
    n = model.longest_token_prefix(prompt, head)
    if model.n_tokens < n or list(model.input_ids[:n]) != prompt[:n]:
        model.reset()
        model.eval(prompt[:n])
    model.n_tokens = n


def reply_logprob(llm, messages, reply: str) -> float | None:
    """Log-probability that the local model's reply to `messages` starts with `reply`.

    Reads llama.cpp's logits directly: llama-index exposes no scoring call. The prompt's KV
    cache is kept, so the answer generated next only re-reads its last token. None for models
    that are not local llama.cpp ones.
    """
    import numpy as np

    model = getattr(llm, "_model", None)
    if model is None or not hasattr(model, "eval"):
        return None
    prompt = model.tokenize(chatml(messages).encode("utf-8"), add_bos=False, special=True)
    target = model.tokenize(reply.encode("utf-8"), add_bos=False, special=False)
    cached = model.longest_token_prefix(model.input_ids[: model.n_tokens], prompt)
    model.n_tokens = min(cached, len(prompt) - 1)  # at least one token to get fresh logits
    model.eval(prompt[model.n_tokens:])
    total = 0.0
    for token in target:
        logits = np.ctypeslib.as_array(model._ctx.get_logits(), shape=(model.n_vocab(),))
        top = logits.max()
        total += float(logits[token] - top - np.log(np.exp(logits - top).sum()))
        model.eval([token])
    return total
