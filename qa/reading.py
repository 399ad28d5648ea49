"""What the model reads, prepared at index time: each passage as a block of text read once by
the model under its article's header (the state kept by the LLM backend), and each passage's
sentences with their vectors (kept here, one file a passage). A question then costs only its
own tokens and the passages retrieval picks for it, at any collection size."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from index.types import Passage
from qa import prompts
from qa.judge import header
from qa.relevance import Sentences, split

STATE = "instructions"  # the name the backend keeps the evaluated instructions under


def block(p: Passage) -> str:
    """A passage as the model reads it: under its article's title, outlet and date."""
    text = prompts.quoted(" ".join(p.text.split()))
    return prompts.PASSAGE.format(header=prompts.quoted(header(p)), text=text)


def blocks(passages: list[Passage]) -> list[str]:
    """The numbered blocks of passages read in this order: a number, then its passage."""
    return [b for mark, p in zip(marks(len(passages)), passages) for b in (mark, block(p))]


def head(shown: list[str]) -> list[dict]:
    """The fixed messages of every prompt: the rules, then these blocks."""
    return [{"role": "system", "content": prompts.HEAD.format(rules=prompts.RULES)
             + "".join(shown)}]


def marks(count: int) -> list[str]:
    """The number blocks of up to `count` passages: read ahead like the passages."""
    return [prompts.MARK.format(n=n) for n in range(1, count + 1)]


class SentenceStore:
    """Each passage's sentence vectors, one file a passage, named by its id (which changes with
    its text and its article's header)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, passage_id: str) -> Path:
        return self.folder / f"{passage_id}.npy"

    def missing(self, passages: list[Passage]) -> list[Passage]:
        return [p for p in passages if not self._path(p.id).exists()]

    def add(self, passages: list[Passage], encode) -> None:
        """Vectors for these passages' sentences, `encode(texts)` called once for all."""
        if not passages:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        texts = [split(p.text) for p in passages]
        vectors = np.asarray(encode([s for t in texts for s in t]), dtype=np.float32)
        at = 0
        for p, sents in zip(passages, texts):
            tmp = self.folder / f"{p.id}.{os.getpid()}.tmp.npy"
            np.save(tmp, vectors[at: at + len(sents)])
            os.replace(tmp, self._path(p.id))
            at += len(sents)

    def remove_except(self, keep: set[str]) -> int:
        """Forget the vectors of passages no longer indexed; how many went."""
        gone = 0
        for f in self.folder.glob("*.npy") if self.folder.exists() else []:
            if f.stem not in keep:
                f.unlink(missing_ok=True)
                gone += 1
        return gone

    def sentences(self, passages: list[Passage]) -> Sentences:
        """The passages' sentences with their stored vectors (encoded now where missing)."""
        vectors = []
        for p in passages:
            try:
                vectors.append(np.load(self._path(p.id)))
            except (OSError, ValueError):
                vectors.append(None)
        return Sentences(passages, vectors)
