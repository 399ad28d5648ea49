"""Hybrid retrieval: dense (Chroma) and BM25 over the same passages, fused by reciprocal rank."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from index.types import Passage
from qa.question import parts


def rrf(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion.

    Written here rather than using QueryFusionRetriever because that one replaces the
    per-retriever scores, and the refusal gate and the citation scores need the dense ones.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (k + rank + 1)
    return scores


class Retriever:
    """Hybrid search over the stored passages; the part of the product that needs the embedder."""

    def __init__(self, store, embedder, top_k: int = 4, candidates: int = 12):
        self.store, self.embedder = store, embedder
        self.top_k, self.candidates = top_k, candidates
        self._bm25 = None
        self._dense = None
        self._passages: dict[str, Passage] = {}

    def refresh(self) -> None:
        """Forget the BM25 index after the store changed."""
        self._bm25, self._dense, self._passages = None, None, {}

    def _sparse(self):
        # llama-index's BM25Retriever gets no nodes from a Chroma-backed index, so it is built
        # from the stored passages, once per process (or after refresh()).
        if self._bm25 is None:
            from llama_index.core.schema import TextNode
            from llama_index.retrievers.bm25 import BM25Retriever

            passages = self.store.passages()
            self._passages = {p.id: p for p in passages}
            if not passages:
                return None
            nodes = [TextNode(id_=p.id, text=p.text) for p in passages]
            self._bm25 = BM25Retriever.from_defaults(
                nodes=nodes, similarity_top_k=min(self.candidates, len(nodes))
            )
        return self._bm25

    def _vector(self):
        if self._dense is None:
            from llama_index.core import VectorStoreIndex

            index = VectorStoreIndex.from_vector_store(self.store.vector_store,
                                                       embed_model=self.embedder)
            self._dense = index.as_retriever(
                similarity_top_k=min(self.candidates, max(1, len(self._passages))))
        return self._dense

    def dense(self, question: str, embedding=None):
        """Dense hits (llama-index NodeWithScore), best first."""
        from llama_index.core.schema import QueryBundle

        self._sparse()
        query = QueryBundle(query_str=question)
        query.embedding = embedding or self.embedder.get_query_embedding(question)
        return self._vector().retrieve(query)

    def sparse(self, question: str):
        """BM25 hits (llama-index NodeWithScore), best first."""
        return self._sparse().retrieve(question)

    def _lexical(self, question: str) -> list[str]:
        # A passage sharing no word with the question is no BM25 hit, whatever its rank.
        return [n.node.node_id for n in self.sparse(question) if (n.score or 0) > 0]

    def retrieve(self, question: str) -> list[Passage]:
        """The top_k passages for the question, best first, with fused and dense scores."""
        if self._sparse() is None:
            return []
        embedding = self.embedder.get_query_embedding(question)
        dense = self.dense(question, embedding)
        rankings = [[n.node.node_id for n in dense], self._lexical(question)]
        for part in parts(question):
            rankings += [[n.node.node_id for n in self.dense(part)], self._lexical(part)]
        dense_rank = {n.node.node_id: i for i, n in enumerate(dense)}
        fused = rrf(rankings)
        best = sorted(fused, key=lambda pid: (-fused[pid], dense_rank.get(pid, len(dense))))
        best = best[: self.top_k]
        similarity = self._cosine(best, embedding)
        out = []
        for pid in best:
            p = self._passages.get(pid)
            if p is None:  # stored after the BM25 index was built
                self.refresh()
                return self.retrieve(question)
            out.append(replace(p, score=fused[pid], dense=similarity[pid]))
        return out

    def _cosine(self, ids, query_embedding) -> dict[str, float]:
        """Cosine similarity of the chosen passages to the question.

        Computed here because ChromaVectorStore reports exp(-distance), not the similarity, and
        passages that only BM25 found have no dense score at all.
        """
        q = np.asarray(query_embedding)
        return {pid: float(np.dot(q, np.asarray(emb)))
                for pid, emb in self.store.embeddings(ids).items()}
