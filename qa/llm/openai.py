"""Any OpenAI-compatible chat endpoint (a hosted model, vLLM, llama.cpp's server, ...)."""
from __future__ import annotations

from collections.abc import Iterator

from qa.errors import LLMUnavailableError


class OpenAICompatible:
    """The same interface as the llama.cpp backend; the server keeps nothing of ours between
    calls, so it receives the passages a question needs as text every time."""

    reads_ahead = False

    def __init__(self, api_base: str, model: str, api_key: str = "", timeout: float = 60.0):
        from openai import OpenAI

        self.model, self.api_base, self.timeout = model, api_base, timeout
        self.name = f"openai:{model}"  # as answers and reports name it
        self._client = OpenAI(base_url=api_base, api_key=api_key or "not-needed",
                              timeout=timeout, max_retries=0)

    def count_tokens(self, text: str) -> int:
        return len(text) // 4  # a server does not tell; about four characters a token

    def generate(self, prompts: list[list[dict]], *, fixed: int = 0, max_tokens: int = 200,
                 name: str = "prefix", blocks=None, assemble=True, turn: str = "",
                 temperatures: list[float] | None = None) -> Iterator[tuple[int, str]]:
        """One answer per prompt (greedy, or sampled at its temperature), one after the
        other."""
        heat = list(temperatures or []) + [0.0] * len(prompts)
        for i, messages in enumerate(prompts):
            try:
                stream = self._client.chat.completions.create(
                    model=self.model, messages=messages, temperature=heat[i], seed=i,
                    max_tokens=max_tokens, stream=True)
                for chunk in stream:
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        yield i, delta
            except Exception as e:  # the client raises many types for a server it cannot use
                raise self.unavailable(e) from None

    def unavailable(self, error: Exception) -> LLMUnavailableError:
        """A readable error for a failed call; it never includes the API key."""
        return LLMUnavailableError(
            f"The LLM endpoint {self.api_base} did not answer ({type(error).__name__}) within "
            f"{self.timeout:g}s. Check that the server is running and --api-base points at its "
            "/v1 URL, or raise --timeout (QA_TIMEOUT).")
