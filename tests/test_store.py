"""Passages in Chroma (index/store.py): paged reads, articles in reading order, clear errors."""
import pytest

from index.errors import ConfigError, StoreUnavailableError
from index.store import Store, reading_order
from qa.types import Passage


def passage(pid, path, start, added, title="t"):
    return Passage(id=pid, source=path.rsplit("/", 1)[-1], title=title, text=f"text {pid}",
                   start=start, end=start + 5, path=path, added=added, outlet="The Courier",
                   date="2025-03-03")


def test_large_collections_are_read_in_pages(tmp_path):
    # One Chroma get() for all of them fails with "too many SQL variables" (seen at 100,000).
    store = Store(tmp_path, None, "big")
    n = 12_000
    passages = [Passage(id=f"p{i}", source="s.txt", title="t", text=f"text {i}", start=0, end=6,
                        path=f"/a{i % 7}") for i in range(n)]
    for i in range(0, n, 4000):
        store.add(passages[i : i + 4000], [[1.0, float(j), 0.0] for j in range(i, i + 4000)])
    assert store.count() == n and {p.id for p in store.passages()} == {p.id for p in passages}
    assert sum(len(ids) for ids, _ in store.ids_by_path().values()) == n
    wanted = [f"p{i}" for i in range(0, n, 2)]
    assert sorted(p.id for p in store.passages(wanted)) == sorted(wanted)
    assert store.embeddings(["p7001"])["p7001"][1] == 7001.0 and store.passages([]) == []
    store.delete(wanted)
    assert store.count() == n // 2


def test_articles_are_listed_first_indexed_first_with_passage_counts(tmp_path):
    store = Store(tmp_path, None, "articles")
    stored = [passage("b2", "/n/b.txt", 50, added=1.0, title="B"),
              passage("a1", "/n/a.txt", 0, added=2.0, title="A"),
              passage("b1", "/n/b.txt", 0, added=1.0, title="B")]
    store.add(stored, [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert [(a.source, a.title, a.outlet, a.date, a.passages) for a in store.articles()] == [
        ("b.txt", "B", "The Courier", "2025-03-03", 2), ("a.txt", "A", "The Courier",
                                                        "2025-03-03", 1)]
    assert [p.id for p in reading_order(store.passages())] == ["b1", "b2", "a1"]
    assert store.ids_by_path() == {"/n/b.txt": ({"b1", "b2"}, 1.0), "/n/a.txt": ({"a1"}, 2.0)}
    [back] = store.passages(["b2"])
    assert (back.text, back.start, back.end, back.added) == ("text b2", 50, 55, 1.0)


def test_a_bad_or_unreachable_chroma_server_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="--chroma-url must look like http://host:port"):
        Store(tmp_path, "ftp://example.org", "articles")
    with pytest.raises(StoreUnavailableError, match="Cannot reach the Chroma server at "
                                                    "http://127.0.0.1:9 .*chroma run"):
        Store(tmp_path, "http://127.0.0.1:9", "articles")
