"""Split an article into passages that know their character offsets."""
from __future__ import annotations

import hashlib
import re
import sys
from functools import lru_cache

from qa.types import Article, Passage


@lru_cache(maxsize=4)
def _splitter(chunk_size: int, chunk_overlap: int):
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def passage_id(path: str, start: int, text: str) -> str:
    """Stable id from the article's path and the passage's place and content."""
    return hashlib.sha256(f"{path}\n{start}\n{text}".encode()).hexdigest()[:32]


BLOCK = 200_000  # characters split at a time, so a huge file shows progress and stays cheap


def split_article(article: Article, chunk_size: int, chunk_overlap: int,
                  progress: bool = False) -> list[Passage]:
    """Sentence-aware passages of the article, each with its offsets and a stable id."""
    passages = []
    blocks = list(_blocks(article.text))
    show = progress and len(blocks) > 5
    if show:
        from tqdm import tqdm

        blocks = tqdm(blocks, desc=f"Splitting {article.source}", unit="block", file=sys.stderr)
    for offset, block in blocks:
        passages += _split_block(article, block, offset, chunk_size, chunk_overlap)
    return passages


def _blocks(text: str):
    """(offset, text) pieces of at most about BLOCK characters, cut between paragraphs."""
    start = 0
    while start < len(text):
        end = len(text) if len(text) - start <= BLOCK else text.rfind("\n\n", start, start + BLOCK)
        if end <= start:
            end = min(len(text), start + BLOCK)
        yield start, text[start:end]
        start = end


def _split_block(article, block, offset, chunk_size, chunk_overlap) -> list[Passage]:
    passages, cursor = [], 0
    for chunk in _splitter(chunk_size, chunk_overlap).split_text(block):
        start, end = locate(block, chunk, max(0, cursor - 4 * len(chunk)))
        if start < 0:
            continue
        cursor = start + 1
        start, end = start + offset, end + offset
        text = article.text[start:end]
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
