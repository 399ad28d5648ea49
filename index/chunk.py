"""Split an article into passages that know their character offsets."""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from qa.types import Article, Passage


@lru_cache(maxsize=4)
def _splitter(chunk_size: int, chunk_overlap: int):
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def passage_id(path: str, start: int, text: str) -> str:
    """Stable id from the article's path and the passage's place and content."""
    return hashlib.sha256(f"{path}\n{start}\n{text}".encode()).hexdigest()[:32]


def split_article(article: Article, chunk_size: int, chunk_overlap: int) -> list[Passage]:
    passages, cursor = [], 0
    for chunk in _splitter(chunk_size, chunk_overlap).split_text(article.text):
        start, end = locate(article.text, chunk, max(0, cursor - 4 * len(chunk)))
        if start < 0:
            continue
        text = article.text[start:end]
        cursor = start + 1
        passages.append(
            Passage(
                id=passage_id(article.path, start, text),
                source=article.source,
                title=article.title,
                text=text,
                start=start,
                end=end,
                path=article.path,
            )
        )
    return passages


def locate(text: str, chunk: str, hint: int = 0) -> tuple[int, int]:
    """(start, end) of `chunk` in `text`, allowing the splitter to have changed whitespace."""
    at = text.find(chunk, hint)
    if at < 0:
        at = text.find(chunk)
    if at >= 0:
        return at, at + len(chunk)
    words = chunk.split()
    if not words:
        return -1, -1
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.compile(pattern).search(text, hint) or re.compile(pattern).search(text)
    return (m.start(), m.end()) if m else (-1, -1)
