import contextlib
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    """No QA_* setting from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("QA_") or key == "OPENAI_API_KEY":
            monkeypatch.delenv(key)


@pytest.fixture
def seeds(tmp_path) -> Path:
    """A private copy of the seed articles, free to edit."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


def fake_embedder():
    """Hashed bag of words: deterministic, instant, and similar texts get similar vectors."""
    from llama_index.core.embeddings import BaseEmbedding

    class HashEmbedding(BaseEmbedding):
        calls: int = 0

        def _vec(self, text: str) -> list[float]:
            self.calls += 1
            v = [0.0] * 64
            for w in re.findall(r"\w+", text.lower()):
                v[int(hashlib.md5(w.encode()).hexdigest(), 16) % 64] += 1.0
            n = sum(x * x for x in v) ** 0.5 or 1.0
            return [x / n for x in v]

        def _get_text_embedding(self, text):
            return self._vec(text)

        def _get_query_embedding(self, query):
            return self._vec(query)

        async def _aget_query_embedding(self, query):
            return self._vec(query)

    return HashEmbedding(model_name="hash")


def scripted_llm(reply: str, *later: str):
    """An LLM that streams `reply` word by word and records the prompts it was given.

    With `later` replies, each call after the first gives the next one (the last repeats).
    """
    from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
    from llama_index.core.llms.callbacks import llm_completion_callback

    class Scripted(CustomLLM):
        text: str = ""
        later: list = []
        prompts: list = []

        def _next(self):
            if self.prompts and self.later:
                self.text = self.later.pop(0)

        @property
        def metadata(self):
            return LLMMetadata(model_name="scripted")

        @llm_completion_callback()
        def complete(self, prompt, formatted=False, **kw):
            self._next()
            self.prompts.append(prompt)
            return CompletionResponse(text=self.text)

        @llm_completion_callback()
        def stream_complete(self, prompt, formatted=False, **kw):
            self._next()
            self.prompts.append(prompt)

            def gen():
                so_far = ""
                for piece in re.findall(r"\S+\s*", self.text):
                    so_far += piece
                    yield CompletionResponse(text=so_far, delta=piece)

            return gen()

    return Scripted(text=reply, later=list(later), prompts=[])


@pytest.fixture
def make_assistant(tmp_path, seeds):
    """An Assistant over the seed copy with the fake embedder and a scripted reply."""
    from qa import Assistant

    def make(reply="", *later, **overrides):
        return Assistant.build(
            [seeds], data_dir=tmp_path / "data", embed_model=fake_embedder(),
            language_model=scripted_llm(reply, *later), min_similarity=0.0, **overrides
        )

    return make


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float, proc=None) -> None:
    """Poll `url` until it answers, failing early if `proc` died."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {seconds}s")


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory):
    """The seeds indexed once with the real MiniLM into a session-wide data dir."""
    from qa import Assistant

    data = tmp_path_factory.mktemp("seed-index")
    Assistant.build([SEEDS], data_dir=data)
    return data


@contextlib.contextmanager
def serving(cmd: list[str], url: str, seconds: float, log=subprocess.DEVNULL):
    """Run a server command until `url` answers; stop it afterwards."""
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    try:
        wait_for(url, seconds, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
