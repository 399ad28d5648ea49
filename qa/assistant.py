"""The public API: index articles, then ask questions and get cited answers."""
from __future__ import annotations

import contextlib
import logging
import sys
import threading

from collections.abc import Iterator
from pathlib import Path

from index.types import ArticleInfo, IndexReport, Passage
from qa import prompts, question, reading
from qa.config import Config
from qa.errors import IndexMissingError
from qa.pipeline import Evidence, Pipeline
from qa.types import Answer

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "seeds"
BACKGROUND_BATCH = 160  # tokens read at a time behind questions: about one passage
log = logging.getLogger(__name__)


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
        self._timeline_retriever = None  # (the question retriever it was built beside, its own)
        self._query_embedder = embed_model
        self.sentence_store = reading.SentenceStore(Path(self.config.data_dir) / "sentences")
        self._seen = self._changed_at()
        self.reading_info: dict = {}
        if require_index and self.store.count() == 0:
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
        """The passages' embedding model (sentence-transformers): for indexing."""
        if self._embedder is None:
            from index.embed import load_embedder

            self._embedder = load_embedder()
        return self._embedder

    @property
    def query_embedder(self):
        """The same model for questions, in NumPy: answering needs no torch."""
        if self._query_embedder is None:
            from index.encode import minilm_embedding

            self._query_embedder = minilm_embedding()
        return self._query_embedder

    def index(self, paths=None, prune: bool = True, progress: bool = False,
              read: bool = True) -> IndexReport:
        """Index files and folders (default: the seeds), then have the model read what is new
        (unless `read` is False: then `read()` does it, or the first question that needs it)."""
        from index.build import index_paths
        from index.embed import embed_texts

        report = index_paths([str(p) for p in (paths or [DEFAULT_CORPUS])], self.store,
                             lambda texts: embed_texts(self.embedder, texts),
                             self.config.chunk_size, prune=prune, progress=progress,
                             max_bytes=self.config.max_file_mb * 2**20)
        self.refresh(progress, read)
        return report

    def remove(self, names: list[str]) -> int:
        """Remove articles by file name or path; the number of passages removed."""
        from index.build import remove_articles

        removed = remove_articles(self.store, list(names))
        self.refresh(read=False)  # nothing new to read; its readings go at the next read
        return removed

    def articles(self) -> list[ArticleInfo]:
        """The indexed articles in reading order, with title, outlet, date and passage count."""
        return self.store.articles()

    def refresh(self, progress: bool = False, read: bool = True) -> dict:
        """Prepare what changed for reading, once: the sentence vectors of new passages, and
        (with `read`) the model's reading of each new passage."""
        from index.embed import encode_sentences
        from qa.relevance import encode

        passages = self.store.passages()
        new = self.sentence_store.missing(passages)
        with _bar(progress and len(new) > 50, len(new), "Sentences", "passage") as bar:
            for i in range(0, len(new), 256):
                self.sentence_store.add(new[i: i + 256],
                                        lambda texts: encode(texts, bulk=encode_sentences))
                bar(len(new[i: i + 256]), len(new))
        self.sentence_store.remove_except({p.id for p in passages})
        self._retriever = None
        self._touch()
        return self.read(progress, passages) if read else {}

    def read(self, progress: bool = False, passages: list[Passage] | None = None,
             batch_tokens: int = 512) -> dict:
        """Have the model read every passage it has not read yet, once (where the backend
        reads ahead); what it read. Questions are answered meanwhile, between batches of
        `batch_tokens`."""
        passages = self.store.passages() if passages is None else passages
        self.reading_info = {}
        if passages and self.llm.reads_ahead:
            # Every passage, and the numbers a question's passages are shown under.
            shown = [reading.block(p) for p in passages] + reading.marks(self.config.top_k)
            with _bar(progress, 0, "Reading", "token") as bar:
                self.reading_info = self.llm.read(reading.head(shown), shown, prune=True,
                                                  name=reading.STATE, progress=bar,
                                                  batch_tokens=batch_tokens, turn=prompts.TURN)
        return self.reading_info

    def read_in_background(self) -> threading.Thread:
        """Start reading what is new in a thread of its own, a passage or two at a time: a
        question asked meanwhile waits for at most that much, then reads first the passages
        it needs."""
        def run() -> None:
            try:
                self.read(batch_tokens=BACKGROUND_BATCH)
            except Exception:  # a question reads what it needs anyway; the log says why
                log.exception("reading the added articles failed")

        thread = threading.Thread(target=run, name="qa-read", daemon=True)
        thread.start()
        return thread

    # Another process (the chat's uploads, `qa index`) may change the collection: a file in the
    # data directory is touched on every change, and a retriever older than it is rebuilt.
    @property
    def _changes(self) -> Path:
        return Path(self.config.data_dir) / "changed"

    def _touch(self) -> None:
        self._changes.parent.mkdir(parents=True, exist_ok=True)
        self._changes.touch()
        self._seen = self._changed_at()

    def _changed_at(self) -> int:
        try:
            return self._changes.stat().st_mtime_ns
        except OSError:
            return 0

    def _follow(self) -> None:
        if self._changed_at() != self._seen:
            self._seen, self._retriever = self._changed_at(), None

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
        """Load the models, the retriever and the instructions' reading now, not on the first
        question."""
        self.evidence("warm up")
        if self.llm.reads_ahead:
            first = reading.marks(1)
            self.llm.read(reading.head(first), first, name=reading.STATE)

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

    def timeline(self, topic: str) -> list:
        """The dated events the articles report about a topic, oldest first (qa/timeline.py)."""
        from qa.retrieve import Retriever
        from qa.timeline import timeline, vector_of

        topic = question.check(topic, self.config.max_question_chars)
        self._follow()
        if self._timeline_retriever is None or self._timeline_retriever[0] is not self._retriever:
            self.retrieve(topic)  # builds the question retriever, whose age marks this one's
            wide = self.config.timeline_passages
            self._timeline_retriever = (self._retriever, Retriever(
                self.store, self.query_embedder, wide, max(wide, self.config.retrieve_candidates)))
        passages = self._timeline_retriever[1].retrieve(topic)
        if not passages:
            raise IndexMissingError(self.store.where)
        sentences = self.sentence_store.sentences(passages)
        return timeline(passages, sentences, sentences.similarity(vector_of(topic)))

    def evidence(self, question_text: str) -> Evidence:
        """What the model reads for a question: the passages retrieval picks, grouped by
        article, each article's in its text order, the article of the best passage first."""
        self._follow()
        passages = self.retrieve(question_text)
        if not passages:
            raise IndexMissingError(self.store.where)
        rank = {}
        for i, p in enumerate(passages):
            rank.setdefault(p.path, i)
        passages = sorted(passages, key=lambda p: (rank[p.path], p.start))
        shown = reading.blocks(passages)
        return Evidence(passages, reading.head(shown), reading.STATE, blocks=shown,
                        sentences=self.sentence_store.sentences(passages))

    def retrieve(self, question_text: str) -> list[Passage]:
        """The passages retrieval picks for a question, best first."""
        if self._retriever is None:
            from qa.retrieve import Retriever

            self._retriever = Retriever(self.store, self.query_embedder, self.config.top_k,
                                        self.config.retrieve_candidates)
        return self._retriever.retrieve(question_text)


@contextlib.contextmanager
def _bar(show: bool, total: int, desc: str, unit: str):
    """A progress bar on stderr; yields `advance(done, total)`."""
    from tqdm import tqdm

    with tqdm(total=total or None, desc=desc, unit=unit, file=sys.stderr, disable=not show,
              unit_scale=True) as t:
        def advance(done: int, whole: int) -> None:
            t.total = whole
            t.update(done)

        yield advance
