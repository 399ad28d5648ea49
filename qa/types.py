"""The answer and its citations, as the answering stages pass them on."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.types import Article, ArticleInfo, IndexReport, Passage


@dataclass
class Citation:
    number: int
    source: str  # the article's file name
    passage_id: str
    text: str  # the passage
    start: int  # its character offsets in the article
    end: int
    score: float  # cosine similarity of the passage to the question, where it was computed
    title: str = ""
    outlet: str = ""
    date: str = ""
    quote: str = ""  # the passage sentence that supports the citing sentence


@dataclass
class Account:
    """One report's value where the articles disagree (qa/disagree.py)."""

    value: str  # normalised: "400", "2011-05-03"
    words: str  # as shown: "four hundred", "3 May 2011"
    sentence: str  # the article's sentence that gives it
    citation: int  # the number of its citation in the answer
    source: str = ""
    outlet: str = ""
    date: str = ""


@dataclass
class Answer:
    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    passages: list[Passage] = field(default_factory=list)  # what the LLM read
    searched: str = ""  # the standalone question (a follow-up is rewritten)
    notes: list[str] = field(default_factory=list)  # what the checks dropped, and why
    candidates: list[str] = field(default_factory=list)  # the model's answers, unchecked
    pieces: list[list] = field(default_factory=list)  # per candidate: [text, log-probability]
    quote: str | None = None  # the model's copy of the words that answer (qa/quote.py)
    disagreements: list[Account] = field(default_factory=list)  # where the reports differ

    def to_dict(self) -> dict:
        return {"question": self.question, "answer": self.text, "abstained": self.abstained,
                "citations": [asdict(c) for c in self.citations], "timings": self.timings,
                "model": self.model, "searched": self.searched,
                "disagreements": [asdict(a) for a in self.disagreements]}


__all__ = ["Account", "Article", "ArticleInfo", "Answer", "Citation", "IndexReport", "Passage"]
