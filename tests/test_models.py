"""Model files from PyPI packages (qa/llm/models.py) and which backend a Config picks."""
import hashlib

import pytest

from qa.config import Config
from qa.errors import ModelMissingError
from qa.llm import local_model_path, model_name, models


def fake_parts(tmp_path, monkeypatch, chunks):
    """Install fake part packages and return a spec that joins them."""
    for n, data in enumerate(chunks, start=1):
        pkg = tmp_path / "site" / f"fakepart{n}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{n:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(chunks)
    return models.SplitGGUF("m.gguf", "fakepart{n}", len(chunks), len(whole),
                            hashlib.sha256(whole).hexdigest())


def test_assembles_once_checks_and_reuses(tmp_path, monkeypatch):
    spec = fake_parts(tmp_path, monkeypatch, [b"GGUF", b"-body-", b"end"])
    out = models.gguf_path(tmp_path / "cache", spec)
    assert out.read_bytes() == b"GGUF-body-end"
    assert list((tmp_path / "cache").glob("*.tmp")) == []
    mtime = out.stat().st_mtime_ns
    assert models.gguf_path(tmp_path / "cache", spec).stat().st_mtime_ns == mtime  # cached

    out.write_bytes(b"GGUF-bo")  # truncated: rebuilt from the parts
    assert models.gguf_path(tmp_path / "cache", spec).read_bytes() == b"GGUF-body-end"


def test_bad_checksum_and_missing_parts_name_the_packages(tmp_path, monkeypatch):
    spec = fake_parts(tmp_path, monkeypatch, [b"a", b"b"])
    bad = models.SplitGGUF("m.gguf", spec.package, 2, spec.size, "0" * 64)
    with pytest.raises(ModelMissingError,
                       match="wrong checksum.*pip install --force-reinstall fakepart1==0.2.0"):
        models.gguf_path(tmp_path / "cache", bad)
    assert not (tmp_path / "cache" / "m.gguf").exists()
    missing = models.SplitGGUF("m.gguf", "nosuchpart{n}", 2, 2, spec.sha256)
    with pytest.raises(ModelMissingError, match="pip install nosuchpart1==0.2.0 nosuchpart2"):
        models.gguf_path(tmp_path / "cache2", missing)
    optional = models.SplitGGUF("m.gguf", "nosuchpart{n}", 2, 2, spec.sha256, extra="small")
    with pytest.raises(ModelMissingError, match=r"pip install -e '\.\[small\]', or pip install"):
        models.gguf_path(tmp_path / "cache3", optional)


def test_a_corrupted_model_of_the_same_size_is_rebuilt(tmp_path, monkeypatch):
    spec = fake_parts(tmp_path, monkeypatch, [b"GGUF", b"-body-", b"end"])
    out = models.gguf_path(tmp_path / "cache", spec)
    out.write_bytes(b"GGUF-bXdy-end")  # same size, one byte flipped
    assert models.gguf_path(tmp_path / "cache", spec).read_bytes() == b"GGUF-body-end"


def test_the_model_setting_names_a_packaged_model_or_a_gguf_path(tmp_path):
    assert list(models.NAMED)[0] == "qwen2.5-coder-1.5b"  # the default
    assert model_name(Config.load()) == "qwen2.5-coder-1.5b-instruct-q4_k_m"
    small = Config.load(model="qwen2.5-coder-0.5b")
    assert model_name(small) == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    gguf = tmp_path / "tiny-model.gguf"
    assert model_name(Config.load(model=str(gguf))) == "tiny-model"
    assert local_model_path(Config.load(model=str(gguf))) == str(gguf)
    assert model_name(Config.load(llm="openai", api_base="http://h/v1", model="m")) == "openai:m"


def test_a_missing_gguf_file_says_which_setting_to_fix(tmp_path):
    from qa.llm.llamacpp import LlamaCpp

    with pytest.raises(ModelMissingError, match="No GGUF model file at .*Fix --model"):
        LlamaCpp(str(tmp_path / "nothing.gguf"), "nothing", threads=1)
