"""Retrieval (qa/retrieve.py): reciprocal rank fusion, BM25 over a few passages, and the hybrid
retriever over a real Chroma store with the fake embedder."""
import numpy as np
import pytest

from conftest import fake_embedder
from index.store import Store
from qa.retrieve import Retriever, rrf
from qa.types import Passage

TEXTS = ["The storm sank 12 fishing boats in Port Alder on Sunday.",
         "Lena Ortiz reopened the harbour on Monday after repairs.",
         "The council voted to raise parking fees downtown.",
         "A new bakery opened near the railway station.",
         "Ferry crews walked off the job over unpaid overtime."]


def passage(i: int, text: str) -> Passage:
    return Passage(id=f"p{i}", source=f"{i}.txt", title="News", text=text, start=0,
                   end=len(text), path=f"/news/{i}.txt")


@pytest.fixture
def store(tmp_path):
    """The five passages in Chroma, with the fake embedder's vectors; yields (store, embedder)."""
    embedder, store = fake_embedder(), Store(tmp_path, None, "test")
    store.add([passage(i, t) for i, t in enumerate(TEXTS)],
              embedder.get_text_embedding_batch(TEXTS))
    return store, embedder


def test_rrf_rewards_agreement_between_rankings():
    fused = rrf([["a", "b", "c"], ["b", "a"], ["b"]])
    assert max(fused, key=fused.get) == "b" and fused["c"] < fused["a"]
    assert fused["c"] == pytest.approx(1 / 63)


def test_the_retriever_finds_the_passage_and_reports_its_cosine_similarity(store):
    store, embedder = store
    question = "Who reopened the harbour after repairs?"
    hits = Retriever(store, embedder, top_k=2, candidates=4).retrieve(question)
    assert len(hits) == 2 and hits[0].id == "p1" and hits[0].score >= hits[1].score > 0
    query = np.asarray(embedder.get_query_embedding(question))
    for p in hits:
        vector = np.asarray(embedder.get_text_embedding(p.text))
        assert p.dense == pytest.approx(float(query @ vector))
        assert p.text == TEXTS[int(p.id[1:])]


def test_each_part_of_a_two_part_question_is_searched(store):
    store, embedder = store
    hits = Retriever(store, embedder, top_k=3, candidates=2).retrieve(
        "Who reopened the harbour after repairs, and why did ferry crews walk off the job?")
    assert {"p1", "p4"} <= {p.id for p in hits}


def test_an_empty_store_retrieves_nothing(tmp_path):
    assert Retriever(Store(tmp_path, None, "empty"), fake_embedder()).retrieve("Anything?") == []


def test_refresh_finds_what_was_stored_since(store):
    store, embedder = store
    retriever = Retriever(store, embedder, top_k=2, candidates=4)
    retriever.retrieve("How many boats sank?")
    choir = "Choir members sang carols in the square on Christmas Eve."
    store.add([passage(9, choir)], [embedder.get_text_embedding(choir)])
    retriever.refresh()
    assert retriever.retrieve("Where did the choir sing carols?")[0].id == "p9"


def test_a_passage_stored_since_the_retriever_was_built_is_found(store):
    store, embedder = store
    retriever = Retriever(store, embedder, top_k=2, candidates=4)
    retriever.retrieve("How many boats sank?")  # the BM25 index is built now
    choir = "Choir members sang carols in the square on Christmas Eve."
    store.add([passage(9, choir)], [embedder.get_text_embedding(choir)])
    assert retriever.retrieve("Where did the choir sing carols?")[0].id == "p9"
