"""The model's stored readings of passages, on disk."""
from __future__ import annotations

import os
from pathlib import Path


class BlockStore:
    """Stored readings of passages, one file each, named by a key of their content; the least
    recently used go when the store outgrows `limit_mb` (0: no limit), to be read again when
    a question needs them."""

    def __init__(self, folder: Path | None, limit_mb: int = 0):
        self.folder, self.limit_mb = folder, limit_mb
        self._memory: dict[str, bytes] = {}  # without a folder (tests), or until written

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.state"

    def has(self, key: str) -> bool:
        return key in self._memory or bool(self.folder and self._path(key).exists())

    def put(self, key: str, data: bytes) -> None:
        if not self.folder:
            self._memory[key] = data
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{key}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self._path(key))  # a reader never sees half a state

    def get(self, key: str) -> bytes:
        if key in self._memory:
            return self._memory[key]
        path = self._path(key)
        data = path.read_bytes()
        os.utime(path)  # recently used: kept longest
        return data

    def keep(self, keys: set[str]) -> None:
        """Remove every stored state but these."""
        self._memory = {k: v for k, v in self._memory.items() if k in keys}
        for f in self.folder.glob("*.state") if self.folder and self.folder.exists() else []:
            if f.stem not in keys:
                f.unlink(missing_ok=True)

    def size_mb(self) -> float:
        if not self.folder or not self.folder.exists():
            return sum(map(len, self._memory.values())) / 2**20
        return sum(f.stat().st_size for f in self.folder.glob("*.state")) / 2**20

    def trim(self) -> int:
        """Remove the least recently used states beyond the limit; how many went."""
        if not (self.folder and self.limit_mb and self.folder.exists()):
            return 0
        files = sorted(self.folder.glob("*.state"), key=lambda f: f.stat().st_mtime)
        total, limit, removed = sum(f.stat().st_size for f in files), self.limit_mb * 2**20, 0
        for f in files:
            if total <= limit:
                break
            total -= f.stat().st_size
            f.unlink(missing_ok=True)
            removed += 1
        return removed
