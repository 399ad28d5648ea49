import hashlib

import pytest

from qa import models
from qa.errors import ModelMissingError


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
    with pytest.raises(ModelMissingError, match="wrong checksum.*pip install --force-reinstall fakepart1==0.2.0"):
        models.gguf_path(tmp_path / "cache", bad)
    assert not (tmp_path / "cache" / "m.gguf").exists()
    missing = models.SplitGGUF("m.gguf", "nosuchpart{n}", 2, 2, spec.sha256)
    with pytest.raises(ModelMissingError, match="pip install nosuchpart1==0.2.0 nosuchpart2"):
        models.gguf_path(tmp_path / "cache2", missing)


def test_a_corrupted_model_of_the_same_size_is_rebuilt(tmp_path, monkeypatch):
    spec = fake_parts(tmp_path, monkeypatch, [b"GGUF", b"-body-", b"end"])
    out = models.gguf_path(tmp_path / "cache", spec)
    out.write_bytes(b"GGUF-bXdy-end")  # same size, one byte flipped
    assert models.gguf_path(tmp_path / "cache", spec).read_bytes() == b"GGUF-body-end"
