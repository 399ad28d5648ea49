"""The plain llama-index pipeline, on the Assistant's models and collection, as an `Answer`.

CitationQueryEngine with its defaults: dense retrieval of 2 nodes, its own prompt, no checks.
Only streaming is switched on, to time the first token; it does not change the text.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from eval.score import cited_numbers
from qa.judge import is_refusal
from qa.types import Answer, Citation, Passage


def llama_index_llm(backend):
    """The product's LLM backend as a llama-index LLM: the same model, engine and settings,
    greedy, each completion prompt sent as one user turn."""
    from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
    from llama_index.core.llms.callbacks import llm_completion_callback

    class Backend(CustomLLM):
        @property
        def metadata(self):
            return LLMMetadata(model_name=backend.name, context_window=8192, num_output=256)

        @llm_completion_callback()
        def complete(self, prompt, formatted=False, **kw):
            return CompletionResponse(text="".join(p for _, p in _generate(prompt)))

        @llm_completion_callback()
        def stream_complete(self, prompt, formatted=False, **kw):
            def pieces():
                text = ""
                for _, piece in _generate(prompt):
                    text += piece
                    yield CompletionResponse(text=text, delta=piece)
            return pieces()

    def _generate(prompt):
        return backend.generate([[{"role": "user", "content": prompt}]], max_tokens=256)

    return Backend()


class Baseline:
    """CitationQueryEngine over the Assistant's collection, embedder and LLM."""

    def __init__(self, assistant):
        from llama_index.core import VectorStoreIndex
        from llama_index.core.query_engine import CitationQueryEngine

        index = VectorStoreIndex.from_vector_store(assistant.store.vector_store,
                                                   embed_model=assistant.embedder)
        self.engine = CitationQueryEngine.from_args(index, llm=llama_index_llm(assistant.llm),
                                                    streaming=True)
        self.model = assistant.model
        # Its nodes are re-chunked copies; their metadata leads back to our passages.
        self._passages = {(p.path, p.start): p for p in assistant.store.passages()}

    def stream(self, question: str) -> Iterator[str | Answer]:
        """Yield the answer's text as generated, then an `Answer` like the Assistant's."""
        t0 = time.perf_counter()
        response = self.engine.query(question)  # retrieves; generation starts on iteration
        timings = {"retrieve_s": time.perf_counter() - t0}
        pieces = []
        for piece in response.response_gen:
            if piece:
                timings.setdefault("first_token_s", time.perf_counter() - t0)
                pieces.append(piece)
                yield piece
        timings["total_s"] = time.perf_counter() - t0
        timings.setdefault("first_token_s", timings["total_s"])
        text = "".join(pieces).strip()
        nodes = response.source_nodes
        passages = list({p.id: p for p in map(self._passage, nodes)}.values())
        yield Answer(
            question=question, text=text, abstained=is_refusal(text),
            citations=[self._citation(n, nodes) for n in dict.fromkeys(cited_numbers(text))],
            timings={k: round(v, 3) for k, v in timings.items()}, model=self.model,
            passages=passages, searched=question,
        )

    def _passage(self, node) -> Passage:
        meta = node.node.metadata
        p = self._passages.get((meta.get("path"), meta.get("start")))
        if p is None:  # not one of ours: describe it from its metadata
            p = Passage(id=node.node.node_id, source=meta.get("source", ""),
                        title=meta.get("title", ""), text=_chunk(node),
                        start=int(meta.get("start", 0)), end=int(meta.get("end", 0)))
        return replace(p, score=float(node.score or 0.0))

    def _citation(self, number: int, nodes) -> Citation:
        """[n] is its nth source node; a number past the end cites nothing (and scores so)."""
        if not 1 <= number <= len(nodes):
            return Citation(number=number, source="", passage_id="", text="", start=0, end=0,
                            score=0.0)
        node = nodes[number - 1]
        p, chunk = self._passage(node), _chunk(node)
        offset = max(p.text.find(chunk), 0)
        return Citation(number=number, source=p.source, passage_id=p.id, text=chunk,
                        start=p.start + offset, end=p.start + offset + len(chunk),
                        score=round(p.score, 4), title=p.title)


def _chunk(node) -> str:
    """A citation node's text without the "Source n:" header the engine adds."""
    text = node.node.get_content()
    head, _, body = text.partition(":\n")
    return body.strip() if head.startswith("Source ") else text.strip()
