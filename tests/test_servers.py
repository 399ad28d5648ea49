"""The scale-out options for real: a Chroma server and an OpenAI-compatible LLM server."""
import shutil
import sys
import time

import pytest

from conftest import SEEDS, free_port, serving, smollm_path
from qa import Assistant
from qa.errors import LLMUnavailableError, StoreUnavailableError

pytestmark = pytest.mark.slow


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    chroma = [sys.executable, "-c", "from chromadb.cli.cli import app; app()", "run", "--path",
              str(tmp_path / "srv"), "--host", "127.0.0.1", "--port", str(port)]
    with serving(chroma, f"http://127.0.0.1:{port}/api/v2/heartbeat", 60):
        yield f"http://127.0.0.1:{port}"


def test_index_and_retrieve_through_a_chroma_server(chroma_server, seed_index, tmp_path):
    # The seeds' readings are those of the seed index: not read again.
    shutil.copytree(seed_index / "llm", tmp_path / "unused" / "llm")
    a = Assistant.build([SEEDS], chroma_url=chroma_server, data_dir=tmp_path / "unused")
    assert a.store.count() > 10
    assert not (tmp_path / "unused" / "chroma").exists()
    again = a.index([SEEDS])
    assert again.added == 0
    other = Assistant(chroma_url=chroma_server, data_dir=tmp_path / "elsewhere")
    assert [p.id for p in other.retrieve("How many ballistic missiles did Iran fire?")] == [
        p.id for p in a.retrieve("How many ballistic missiles did Iran fire?")]
    top = a.retrieve("How many ballistic missiles did Iran fire?")
    assert top[0].source == "001_0c16718d7dae18e4.txt"


def test_unreachable_chroma_server_is_a_clear_error():
    with pytest.raises(StoreUnavailableError, match="Cannot reach the Chroma server.*chroma run"):
        Assistant(chroma_url=f"http://127.0.0.1:{free_port()}", data_dir="/nonexistent/qa")


# llama-cpp-python's server with weight repacking ("extra buffer types") on: its AMX kernels
# crash on CPUs that have AMX once a prompt is a few hundred tokens long (the product's own
# backend loads weights without it too).
NO_REPACKING = """
import runpy, sys
import llama_cpp.llama_cpp as C
default = C.llama_model_default_params
def params():
    p = default()
    p.use_extra_bufts = False
    return p
C.llama_model_default_params = params
sys.argv[0] = "llama_cpp.server"
runpy.run_module("llama_cpp.server", run_name="__main__")
"""


@pytest.fixture(scope="module")
def llm_server():
    port = free_port()
    server = [sys.executable, "-c", NO_REPACKING, "--model", smollm_path(), "--model_alias",
              "smollm", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    with serving(server, f"http://127.0.0.1:{port}/v1/models", 120):
        yield f"http://127.0.0.1:{port}/v1"


def test_openai_compatible_endpoint_streams_an_answer(llm_server, seed_index):
    a = Assistant(data_dir=seed_index, llm="openai", api_base=llm_server, model="smollm",
                  api_key="sk-test-secret")
    pieces = list(a.stream("How many ballistic missiles did Iran fire at Israel?"))
    *text, answer = pieces
    assert text and answer.model == "openai:smollm"
    # SmolLM's words do not matter here; what it cites must be real passages.
    shown = {p.id for p in answer.passages}
    assert all(c.passage_id in shown for c in answer.citations)
    assert answer.abstained or answer.citations


def test_unreachable_endpoint_fails_fast_without_leaking_the_key(seed_index):
    a = Assistant(data_dir=seed_index, llm="openai", api_base=f"http://127.0.0.1:{free_port()}/v1",
                  model="x", api_key="sk-test-secret", timeout=5)
    t = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="did not answer") as e:
        a.ask("How many ballistic missiles did Iran fire at Israel?")
    assert time.monotonic() - t < 15
    assert "sk-test-secret" not in str(e.value)
