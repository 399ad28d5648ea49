"""The model's stored readings of passages, on disk."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

SUFFIX = ".read"
OLD = ".state"  # raw llama.cpp states of earlier versions: never loaded, deleted when pruning
AUTO_SHARE = 0.25  # with no limit set, the store may take this share of the disk's free space


class BlockStore:
    """Stored readings of passages, one file each, named by a key of their content; the least
    recently used go when the store outgrows `limit_mb` (0: a quarter of the free disk), to be
    read again when a question needs them."""

    def __init__(self, folder: Path | None, limit_mb: int = 0):
        self.folder, self.limit_mb = folder, limit_mb
        self._memory: dict[str, bytes] = {}  # without a folder (tests), or until written

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def has(self, key: str) -> bool:
        return key in self._memory or bool(self.folder and self._path(key).exists())

    def put(self, key: str, data: bytes) -> None:
        if not self.folder:
            self._memory[key] = data
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{key}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self._path(key))  # a reader never sees half a reading

    def get(self, key: str) -> bytes:
        if key in self._memory:
            return self._memory[key]
        path = self._path(key)
        data = path.read_bytes()
        os.utime(path)  # recently used: kept longest
        return data

    def drop(self, key: str) -> None:
        self._memory.pop(key, None)
        if self.folder:
            self._path(key).unlink(missing_ok=True)

    def _files(self, *suffixes: str) -> list[Path]:
        if not self.folder or not self.folder.exists():
            return []
        return [f for s in suffixes for f in self.folder.glob(f"*{s}")]

    def keep(self, keys: set[str]) -> None:
        """Remove every stored reading but these."""
        self._memory = {k: v for k, v in self._memory.items() if k in keys}
        for f in self._files(SUFFIX, OLD):
            if f.suffix == OLD or f.stem not in keys:
                f.unlink(missing_ok=True)

    def size_mb(self) -> float:
        if not self.folder or not self.folder.exists():
            return sum(map(len, self._memory.values())) / 2**20
        return sum(f.stat().st_size for f in self._files(SUFFIX)) / 2**20

    def limit(self) -> float:
        """The most MB the store may take: the setting, or a share of the free disk."""
        if self.limit_mb or not self.folder:
            return float(self.limit_mb)
        where = self.folder if self.folder.exists() else self.folder.parent
        while not where.exists():
            where = where.parent
        return AUTO_SHARE * (shutil.disk_usage(where).free / 2**20 + self.size_mb())

    def trim(self) -> int:
        """Remove the least recently used readings beyond the limit; how many went."""
        limit = self.limit()
        if not limit or not self.folder or not self.folder.exists():
            return 0
        files = sorted(self._files(SUFFIX), key=lambda f: f.stat().st_mtime)
        total, removed = sum(f.stat().st_size for f in files), 0
        for f in files:
            if total <= limit * 2**20:
                break
            total -= f.stat().st_size
            f.unlink(missing_ok=True)
            removed += 1
        return removed
