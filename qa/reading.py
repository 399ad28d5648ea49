"""The collection as the model reads it whole: the instructions, then every article's header
and numbered passages, in the order the articles were indexed. Computed at index time, kept
beside the index (the passages here, the model's evaluated state by the LLM backend)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from index.types import Passage
from qa import prompts
from qa.judge import header

STATE = "collection"  # the name the backend keeps the evaluated collection under


@dataclass
class Reading:
    passages: list[Passage]  # passage n of the prompt is passages[n - 1]
    _sentences: object = None

    @property
    def sentences(self):
        """Every passage's sentences and their vectors (qa/relevance.py)."""
        if self._sentences is None:
            from qa.relevance import Sentences

            self._sentences = Sentences(self.passages)
        return self._sentences

    def messages(self) -> list[dict]:
        """The fixed part of every prompt: one system message."""
        blocks, last = [], None
        for n, p in enumerate(self.passages, start=1):
            if p.path != last:
                blocks.append(("\n" if blocks else "")
                              + prompts.ARTICLE.format(header=prompts.quoted(header(p))))
                last = p.path
            blocks.append(prompts.PASSAGE.format(n=n, text=prompts.quoted(" ".join(p.text.split()))))
        text = prompts.COLLECTION.format(rules=prompts.RULES, articles="\n".join(blocks))
        return [{"role": "system", "content": text}]

    def save(self, path: Path) -> None:
        """The passages, and their sentences' vectors beside them (computed once, here)."""
        import numpy as np

        np.save(path.with_suffix(".tmp.npy"), self.sentences.flat())
        path.with_suffix(".tmp.npy").replace(path.with_suffix(".npy"))
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([asdict(p) for p in self.passages], ensure_ascii=False))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "Reading | None":
        import numpy as np

        from qa.relevance import Sentences

        try:
            reading = cls([Passage(**p) for p in json.loads(path.read_text())])
        except (OSError, ValueError, TypeError):
            return None
        try:
            reading._sentences = Sentences(reading.passages, np.load(path.with_suffix(".npy")))
        except (OSError, ValueError):
            pass  # computed when first needed
        return reading
