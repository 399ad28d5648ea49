"""Incremental indexing: embed only passages the store lacks, delete the ones no file has."""
from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import replace
from pathlib import Path

from index.chunk import split_article
from index.dates import resolve
from index.errors import ArticleError
from index.load import find_files, read_article
from index.types import IndexReport, Passage


def index_paths(paths, store, embed, chunk_size: int = 128, prune: bool = True,
                progress: bool = False, max_bytes: int = 100 * 2**20) -> IndexReport:
    """Bring the store in line with the articles under `paths`.

    `embed(texts) -> vectors` is called only when something needs embedding, so an unchanged
    re-index never loads the model. Passage ids come from path, offset and text, so comparing
    id sets is enough to know what to embed and what to delete; this also finishes a run that
    was killed half-way. With `prune`, articles that were under an indexed folder but are gone
    lose their passages. The same text under two names is indexed once, under the first name.
    An article keeps its place in the reading order (`added`) when it changes.
    """
    t0 = time.perf_counter()
    with store.lock():
        report = _sync(paths, store, embed, chunk_size, prune, progress, max_bytes)
    report.seconds = time.perf_counter() - t0
    return report


def remove_articles(store, names: list[str]) -> int:
    """Delete the articles with these file names or paths; the number of passages removed."""
    with store.lock():
        stored = store.ids_by_path()
        ids = [pid for path, (have, _) in stored.items()
               if path in names or Path(path).name in names for pid in have]
        store.delete(sorted(ids))
    return len(ids)


def _sync(paths, store, embed, chunk_size, prune, progress, max_bytes) -> IndexReport:
    files, skipped = find_files(paths)
    report = IndexReport(skipped=skipped)
    stored, undated = store.scan()  # one read of the metadata for both
    wanted: dict[str, list[Passage]] = {}
    seen: dict[str, str] = {}  # text hash -> first path with it
    now = time.time()
    for f in _progress(files, progress and len(files) > 20, "Reading"):
        try:
            article = read_article(f, max_bytes)
        except ArticleError as e:
            report.skipped.append(f"{f}: {e}")
            continue
        digest = hashlib.sha256(article.text.encode()).hexdigest()
        if digest in seen and seen[digest] != article.path:
            report.skipped.append(f"{f}: same text as {seen[digest]}, indexed once")
            continue
        seen[digest] = article.path
        added = stored[article.path][1] if article.path in stored else now + len(wanted) * 1e-3
        wanted[article.path] = [replace(p, added=added) for p in split_article(article, chunk_size)]
    report.articles = len(wanted)

    to_add: list[Passage] = []
    to_delete: list[str] = []
    for path, passages in wanted.items():
        have = stored.get(path, (set(), 0.0))[0]
        ids = {p.id for p in passages}
        to_add += [p for p in passages if p.id not in have]
        to_delete += sorted(have - ids)
        report.unchanged += len(have & ids)
    if prune:
        folders = [Path(p).expanduser().resolve() for p in paths if Path(p).is_dir()]
        for path, (have, _) in stored.items():
            if path not in wanted and any(_under(path, d) for d in folders):
                to_delete += sorted(have)

    # Delete first: if killed after this, the next run re-embeds; nothing stale survives.
    store.delete(to_delete)
    report.removed = len(to_delete)
    _embed_and_add(_dated(to_add), store, embed, progress)
    report.added = len(to_add)
    kept = {p.id: p for passages in wanted.values() for p in passages}
    # Passages of an index made before dates were resolved get theirs, without embedding.
    store.set_dates(_dated([kept[pid] for pid in sorted(undated) if pid in kept]))
    return report


def _dated(passages: list[Passage]) -> list[Passage]:
    """The passages with their dates resolved against their article's date (index/dates.py)."""
    for p in passages:
        p.dates = resolve(p.text, p.date)
    return passages


def _progress(items, show: bool, desc: str):
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="file", file=sys.stderr)


def _embed_and_add(passages, store, embed, progress, step: int = 256):
    """Embed and store a few hundred passages at a time: memory stays bounded for huge files
    and each batch is durable."""
    if not passages:
        return
    from tqdm import tqdm

    bar = tqdm(total=len(passages), unit="passage", desc="Embedding", file=sys.stderr,
               disable=not progress)
    for i in range(0, len(passages), step):
        batch = passages[i : i + step]
        store.add(batch, embed([p.text for p in batch]))
        bar.update(len(batch))
    bar.close()


def _under(path: str, folder: Path) -> bool:
    try:
        Path(path).relative_to(folder)
        return True
    except ValueError:
        return False
