"""Plain dataclasses passed between the indexing stages and on to the answering ones."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Article:
    path: str  # resolved path: the article's identity for incremental indexing
    source: str  # file name, shown to users
    title: str
    text: str
    outlet: str = ""
    date: str = ""  # ISO date (YYYY-MM-DD) where the article states one
    author: str = ""


@dataclass
class Passage:
    id: str
    source: str
    title: str
    text: str
    start: int  # character offsets of `text` in the article
    end: int
    path: str = ""
    outlet: str = ""
    date: str = ""
    added: float = 0.0  # when its article was first indexed: the collection's reading order
    score: float = 0.0  # retrieval score (fused); `dense` keeps the cosine similarity
    dense: float = 0.0
    dates: list | None = None  # [start, end, ISO date, period] per date phrase (index/dates.py)


@dataclass
class ArticleInfo:
    """One indexed article as listed to users."""

    source: str
    path: str
    title: str
    outlet: str = ""
    date: str = ""
    passages: int = 0
    added: float = 0.0


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
