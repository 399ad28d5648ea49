"""Passages in Chroma: embedded PersistentClient by default, a Chroma server on request."""
from __future__ import annotations

import contextlib
import fcntl
import itertools
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from index.dates import dumps, loads
from index.errors import ConfigError, StoreUnavailableError
from index.types import ArticleInfo, Passage

# Metadata the LLM need not see when llama-index formats a node (the baseline does).
_HIDDEN = ["path", "start", "end", "added", "dates"]
_META = ("source", "title", "outlet", "date", "path", "start", "end", "added")


class Store:
    """The passages and their vectors in a Chroma collection."""

    def __init__(self, data_dir: Path, chroma_url: str | None = None, collection: str = "articles"):
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        self.data_dir = Path(data_dir)
        self.where = chroma_url or str(Path(data_dir) / "chroma")
        try:
            if chroma_url:
                url = urlparse(chroma_url)
                if url.scheme not in ("http", "https") or not url.hostname:
                    raise ConfigError(
                        f"--chroma-url must look like http://host:port, not {chroma_url!r}."
                    )
                self.client = chromadb.HttpClient(
                    host=url.hostname,
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=settings,
                )
                self.client.heartbeat()
            else:
                Path(data_dir).mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=self.where, settings=settings)
            self.collection = self.client.get_or_create_collection(
                collection, metadata={"hnsw:space": "cosine"}
            )
        except ConfigError:
            raise
        except OSError as e:  # not writable, or a file where a folder should be
            raise StoreUnavailableError(
                f"Cannot write the index in {self.where}: {e.strerror or e}. Choose a writable "
                "--data-dir (or QA_DATA_DIR)."
            ) from None
        except Exception as e:  # chromadb raises several types for a server it cannot reach
            if chroma_url:
                raise StoreUnavailableError(
                    f"Cannot reach the Chroma server at {chroma_url} ({type(e).__name__}). Start "
                    "it (chroma run --host 127.0.0.1 --port 8000) or fix --chroma-url."
                ) from None
            raise StoreUnavailableError(f"Cannot open the index in {self.where}: {e}") from None

    @contextlib.contextmanager
    def lock(self, wait_s: float = 600.0):
        """Hold the data directory's index lock: two `qa index` runs at once take turns.

        With a Chroma server the lock only covers runs that share this data directory.
        """
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.data_dir / "index.lock", "w")
        except OSError as e:
            raise StoreUnavailableError(
                f"Cannot write in {self.data_dir}: {e.strerror}. Choose a writable --data-dir "
                "(or QA_DATA_DIR)."
            ) from None
        with handle:
            deadline = time.monotonic() + wait_s
            told = False
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreUnavailableError(
                            f"Another `qa index` has held {self.data_dir} for {wait_s:.0f}s. "
                            "Wait for it to finish, or stop it and run `qa index` again."
                        ) from None
                    if not told:
                        print(f"waiting for another `qa index` on {self.data_dir}…",
                              file=sys.stderr)
                        told = True
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @property
    def vector_store(self):
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)

    def count(self) -> int:
        return self.collection.count()

    def _get(self, ids: list[str] | None, include: list[str]) -> dict:
        """collection.get in pages: one call for a whole large collection (or a long id list)
        fails in SQLite with "too many SQL variables" (seen at 100,000 passages)."""
        got: dict[str, list] = {"ids": [], **{k: [] for k in include}}
        if ids is not None and not ids:
            return got
        for i in itertools.count(0, _PAGE):
            if ids is None:
                page = self.collection.get(include=include, limit=_PAGE, offset=i)
            else:
                page = self.collection.get(ids=ids[i : i + _PAGE], include=include)
            for key in got:
                got[key] += list(page[key])
            if len(page["ids"]) < _PAGE or (ids is not None and i + _PAGE >= len(ids)):
                return got

    def ids_by_path(self) -> dict[str, tuple[set[str], float]]:
        """Each stored article's passage ids and when it was first indexed."""
        return self.scan()[0]

    def undated(self) -> set[str]:
        """Ids of passages stored before their dates were resolved (or with damaged ones)."""
        return self.scan()[1]

    def scan(self) -> tuple[dict[str, tuple[set[str], float]], set[str]]:
        """ids_by_path() and undated() from one read of the metadata."""
        got = self._get(None, ["metadatas"])
        out: dict[str, tuple[set[str], float]] = {}
        undated = set()
        for pid, meta in zip(got["ids"], got["metadatas"]):
            ids, _ = out.setdefault(meta.get("path", ""), (set(), float(meta.get("added", 0.0))))
            ids.add(pid)
            if loads(meta.get("dates")) is None:
                undated.add(pid)
        return out, undated

    def add(self, passages: list[Passage], embeddings: list[list[float]]) -> None:
        from llama_index.core.schema import TextNode

        nodes = [
            TextNode(
                id_=p.id,
                text=p.text,
                embedding=e,
                metadata=_metadata(p),
                excluded_llm_metadata_keys=_HIDDEN,
                excluded_embed_metadata_keys=_HIDDEN + ["source", "title"],
            )
            for p, e in zip(passages, embeddings)
        ]
        self.vector_store.add(nodes)

    def set_dates(self, passages: list[Passage]) -> None:
        """Store resolved dates with passages already embedded (their vectors stay)."""
        for i in range(0, len(passages), _PAGE):
            batch = passages[i : i + _PAGE]
            self.collection.update(ids=[p.id for p in batch],
                                   metadatas=[_metadata(p) for p in batch])

    def articles(self) -> list[ArticleInfo]:
        """The indexed articles in reading order (first indexed first), with passage counts."""
        seen: dict[str, ArticleInfo] = {}
        for p in self.passages():
            a = seen.setdefault(p.path, ArticleInfo(source=p.source, path=p.path, title=p.title,
                                                    outlet=p.outlet, date=p.date, added=p.added))
            a.passages += 1
        return sorted(seen.values(), key=lambda a: (a.added, a.path))

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 5000):
            self.collection.delete(ids=ids[i : i + 5000])

    def passages(self, ids: list[str] | None = None) -> list[Passage]:
        got = self._get(ids, ["documents", "metadatas"])
        return [
            _passage(pid, doc, meta)
            for pid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])
        ]

    def embeddings(self, ids: list[str]) -> dict[str, list[float]]:
        got = self._get(ids, ["embeddings"])
        return dict(zip(got["ids"], got["embeddings"]))


_PAGE = 5000


def _metadata(p: Passage) -> dict:
    meta = {k: getattr(p, k) for k in _META}
    if p.dates is not None:
        meta["dates"] = dumps(p.dates)
    return meta

def _passage(pid: str, text: str, meta: dict) -> Passage:
    return Passage(id=pid, text=text, source=meta.get("source", ""), title=meta.get("title", ""),
                   start=int(meta.get("start", 0)), end=int(meta.get("end", 0)),
                   path=meta.get("path", ""), outlet=meta.get("outlet", ""),
                   date=meta.get("date", ""), added=float(meta.get("added", 0.0)),
                   dates=loads(meta.get("dates")))


def reading_order(passages: list[Passage]) -> list[Passage]:
    """Articles in the order they were first indexed, each article's passages in text order."""
    return sorted(passages, key=lambda p: (p.added, p.path, p.start))
