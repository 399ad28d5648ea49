from index.store import Store
from qa.types import Passage


def test_large_collections_are_read_in_pages(tmp_path):
    # One Chroma get() for all of them fails with "too many SQL variables" (seen at 100,000).
    store = Store(tmp_path, None, "big")
    n = 12_000
    passages = [Passage(id=f"p{i}", source="s.txt", title="t", text=f"text {i}", start=0, end=6,
                        path=f"/a{i % 7}") for i in range(n)]
    for i in range(0, n, 4000):
        store.add(passages[i : i + 4000], [[1.0, float(j), 0.0] for j in range(i, i + 4000)])
    assert {p.id for p in store.passages()} == {p.id for p in passages}
    assert sum(len(ids) for ids in store.ids_by_path().values()) == n
    wanted = [f"p{i}" for i in range(0, n, 2)]
    assert sorted(p.id for p in store.passages(wanted)) == sorted(wanted)
    assert store.embeddings(["p7001"])["p7001"][1] == 7001.0 and store.passages([]) == []
