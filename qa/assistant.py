"""The public API: index articles, then ask questions and get cited answers."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from index.types import ArticleInfo, IndexReport
from qa import prompts, question
from qa.config import Config
from qa.errors import IndexMissingError
from qa.pipeline import Evidence, Pipeline
from qa.reading import STATE, Reading
from qa.types import Answer

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "seeds"


class Assistant:
    """Answers questions from the indexed articles, citing a passage for every claim.

    `Assistant()` opens the existing index (embedded Chroma under `.qa/` by default) and fails
    with a clear message when there is none; `Assistant.build(paths)` indexes first. Keyword
    overrides are any `Config` field: data_dir, chroma_url, llm, model, top_k, ...
    """

    def __init__(self, config: Config | None = None, *, require_index: bool = True,
                 language_model=None, embed_model=None, **overrides):
        """`language_model` (an LLM backend, see qa/llm) and `embed_model` (a llama-index
        embedding model) replace the configured ones."""
        self.config = config or Config.load(**overrides)
        self._llm, self._embedder, self._store, self._retriever = language_model, embed_model, None, None
        self._lexical, self._read_at, self.reading_info = None, None, {}
        self.reading = self._load_reading()
        if require_index and not (self.reading and self.reading.passages) and self.store.count() == 0:
            raise IndexMissingError(self.store.where)

    @classmethod
    def build(cls, paths=None, config: Config | None = None, **kwargs) -> "Assistant":
        """An Assistant over `paths` (default: the seed articles), indexed incrementally."""
        assistant = cls(config, require_index=False, **kwargs)
        assistant.index(paths)
        return assistant

    # The collection -------------------------------------------------------------------------
    @property
    def store(self):
        if self._store is None:
            from index.store import Store

            self._store = Store(self.config.data_dir, self.config.chroma_url,
                                self.config.collection)
        return self._store

    @property
    def embedder(self):
        if self._embedder is None:
            from index.embed import load_embedder

            self._embedder = load_embedder()
        return self._embedder

    def index(self, paths=None, prune: bool = True, progress: bool = False) -> IndexReport:
        """Index files and folders (default: the seeds), then have the model read the result."""
        from index.build import index_paths
        from index.embed import embed_texts

        report = index_paths([str(p) for p in (paths or [DEFAULT_CORPUS])], self.store,
                             lambda texts: embed_texts(self.embedder, texts),
                             self.config.chunk_size, prune=prune, progress=progress,
                             max_bytes=self.config.max_file_mb * 2**20)
        self.refresh()
        return report

    def remove(self, names: list[str]) -> int:
        """Remove articles by file name or path; the number of passages removed."""
        from index.build import remove_articles

        removed = remove_articles(self.store, list(names))
        self.refresh()
        return removed

    def articles(self) -> list[ArticleInfo]:
        """The indexed articles in reading order, with title, outlet, date and passage count."""
        return self.store.articles()

    def refresh(self) -> dict:
        """Re-read the collection after it changed: the passages in reading order, and, where it
        fits, the model's evaluation of all of them (reusing what is unchanged)."""
        from index.store import reading_order

        self.reading = Reading(reading_order(self.store.passages()))
        self.reading.save(self._reading_file)
        self._read_at = self._reading_file.stat().st_mtime_ns
        self._retriever = self._lexical = None
        self.reading_info = self.llm.prepare(self.reading.messages(), STATE) \
            if self._reads_whole() else {}
        return self.reading_info

    @property
    def _reading_file(self) -> Path:
        return Path(self.config.data_dir) / "reading.json"

    def _load_reading(self) -> Reading | None:
        try:
            self._read_at = self._reading_file.stat().st_mtime_ns
        except OSError:
            return None
        return Reading.load(self._reading_file)

    def _follow(self) -> None:
        """Take up a collection another process changed (the chat's uploads, `qa index`)."""
        try:
            changed = self._reading_file.stat().st_mtime_ns != self._read_at
        except OSError:
            changed = False
        if changed:
            self.reading, self._retriever, self._lexical = self._load_reading(), None, None

    def _reads_whole(self) -> bool:
        """Whether the model reads the whole collection: a backend that keeps it evaluated, and
        a collection within `collection_tokens`."""
        if not (self.reading and self.reading.passages and self.llm.caches_prefix):
            return False
        text = self.reading.messages()[0]["content"]
        return self.llm.count_tokens(text) <= self.config.collection_tokens

    # Answering ------------------------------------------------------------------------------
    @property
    def llm(self):
        if self._llm is None:
            from qa.llm import load_llm

            self._llm = load_llm(self.config, Path(self.config.data_dir) / "llm")
        return self._llm

    @property
    def model(self) -> str:
        from qa.llm import model_name

        return getattr(self._llm, "name", None) or model_name(self.config)

    def warm(self) -> None:
        """Load the model and its reading of the collection now, not on the first question."""
        if self._reads_whole():
            self.llm.prepare(self.reading.messages(), STATE)
        else:
            self.retrieve("warm up")

    def ask(self, question: str, history=None) -> Answer:
        answer = None
        for item in self.stream(question, history):
            answer = item if isinstance(item, Answer) else answer
        return answer

    def stream(self, question_text: str, history=None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is written, then the final `Answer`.

        With `history` (a list of (question, answer) pairs, oldest first) a follow-up is first
        rewritten into a standalone question; `Answer.searched` shows it. The final text can
        differ from the streamed one where the checks removed or changed a sentence: show
        `Answer.text` in the end.
        """
        asked = question.check(question_text, self.config.max_question_chars)
        pipeline = Pipeline(self.config, self.llm, self.evidence, self.model)
        yield from pipeline.stream(asked, history)

    def evidence(self, question_text: str) -> Evidence:
        """What the model reads for a question: the whole collection, or what retrieval finds."""
        self._follow()
        if self._reads_whole():
            return Evidence(self.reading.passages, self.reading.messages(), STATE,
                            hints=self._hints(question_text), sentences=self.reading.sentences)
        passages = self.retrieve(question_text)
        if not passages:
            raise IndexMissingError(self.store.where)
        head = [{"role": "system", "content": prompts.RULES}]
        for user, reply in prompts.EXAMPLE:
            head += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        return Evidence(passages, head, "instructions", retrieved=True)

    def _hints(self, question_text: str) -> list[int]:
        """The best passage (numbered from 1) of each of the articles that match best."""
        if self._lexical is None:
            from qa.retrieve import Lexical

            self._lexical = Lexical(self.reading.passages)
        best: dict[str, int] = {}
        for i in self._lexical.rank(question_text):
            best.setdefault(self.reading.passages[i].path, i + 1)
        return list(best.values())

    def retrieve(self, question_text: str):
        """The passages retrieval picks for a question, cut to their best sentences."""
        if self._retriever is None:
            from qa.retrieve import Retriever

            self._retriever = Retriever(self.store, self.embedder, self.config.top_k,
                                        self.config.retrieve_candidates)
        passages = self._retriever.retrieve(question_text)
        if self.config.context_chars and passages:
            from qa.context import select

            passages = select(question_text, passages, self.embedder, self.config.context_chars)
        return passages
