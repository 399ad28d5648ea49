"""Split an article into passages: whole paragraphs packed up to a size, long ones cut at sentences.

Passages do not overlap: the model reads a question's passages as numbered blocks, and an
overlap would make it read (and cite) the same sentence twice.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from index.types import Article, Passage

_PARAGRAPH = re.compile(r"\S[^\n]*(?:\n(?![ \t]*\n)[^\n]*)*")  # lines up to a blank line


def passage_id(path: str, start: int, text: str, about: str = "") -> str:
    """Stable id from the article's path, the passage's place and content, and what is stored
    with it about its article (title, outlet, date): a corrected date reaches every passage."""
    return hashlib.sha256(f"{path}\n{start}\n{text}\n{about}".encode()).hexdigest()[:32]


def split_article(article: Article, chunk_size: int = 128) -> list[Passage]:
    """Passages of at most about `chunk_size` tokens, each with exact offsets and a stable id."""
    pieces = []  # (start, end) of paragraphs, or of sentence runs of a long one
    for m in _PARAGRAPH.finditer(article.text):
        start, end = m.start(), m.start() + len(m.group().rstrip())
        if _tokens(article.text[start:end]) <= chunk_size:
            pieces.append((start, end))
        else:
            pieces += _cut(article.text, start, end, chunk_size)
    return [_passage(article, a, b) for a, b in _pack(article.text, pieces, chunk_size)]


def _pack(text: str, pieces: list[tuple[int, int]], chunk_size: int) -> list[tuple[int, int]]:
    """Consecutive pieces joined while they fit: short paragraphs (a dateline, a one-line
    quotation) travel with their neighbours instead of standing alone."""
    out: list[tuple[int, int]] = []
    for a, b in pieces:
        if out and _tokens(text[out[-1][0]:b]) <= chunk_size:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _cut(text: str, start: int, end: int, chunk_size: int) -> list[tuple[int, int]]:
    """A paragraph too long for one passage, cut between sentences (llama-index's splitter)."""
    out, cursor = [], start
    for chunk in _splitter(chunk_size).split_text(text[start:end]):
        at = text.find(chunk, cursor, end)
        if at < 0:  # the splitter re-spaced it: locate by its words
            m = re.compile(r"\s+".join(map(re.escape, chunk.split()))).search(text, cursor, end)
            if not m:
                continue
            at, chunk = m.start(), m.group()
        out.append((at, at + len(chunk)))
        cursor = at + len(chunk)
    return out or [(start, end)]


def _passage(article: Article, start: int, end: int) -> Passage:
    text = article.text[start:end]
    about = f"{article.title}\n{article.outlet}\n{article.date}"
    return Passage(id=passage_id(article.path, start, text, about), source=article.source,
                   title=article.title, text=text, start=start, end=end, path=article.path,
                   outlet=article.outlet, date=article.date)


@lru_cache(maxsize=4)
def _splitter(chunk_size: int):
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=0)


@lru_cache(maxsize=1)
def _tokenizer():
    from llama_index.core.utils import get_tokenizer

    return get_tokenizer()


def _tokens(text: str) -> int:
    return len(_tokenizer()(text))
