"""Plain dataclasses passed between the stages."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Article:
    path: str  # resolved path: the article's identity for incremental indexing
    source: str  # file name, shown to users
    title: str
    text: str
    outlet: str = ""
    byline: str = ""


@dataclass
class Passage:
    id: str
    source: str
    title: str
    text: str
    start: int  # character offsets of `text` in the article
    end: int
    path: str = ""
    score: float = 0.0  # retrieval score (fused); `dense` keeps the cosine similarity
    dense: float = 0.0


@dataclass
class Citation:
    number: int
    source: str
    passage_id: str
    text: str
    start: int
    end: int
    score: float
    title: str = ""
    quote: str = ""  # the passage sentence that best supports the citing sentence


@dataclass
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    passages: list[Passage] = field(default_factory=list)  # what the LLM was shown
    searched: str = ""  # the standalone question retrieval used (a follow-up is rewritten)

    def to_dict(self) -> dict:
        cites = [
            {k: c[k] for k in ("number", "source", "passage_id", "text", "start", "end", "score")}
            for c in map(asdict, self.citations)
        ]
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": cites,
            "timings": self.timings,
            "model": self.model,
        }


@dataclass
class IndexReport:
    articles: int = 0
    added: int = 0  # passages embedded and stored
    unchanged: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)  # "path: why"
    seconds: float = 0.0

    def summary(self) -> str:
        line = (
            f"{self.articles} articles: {self.added} passages added, {self.unchanged} unchanged, "
            f"{self.removed} removed in {self.seconds:.1f}s"
        )
        if self.skipped:
            line += f"; skipped {len(self.skipped)} file(s)"
        return line
