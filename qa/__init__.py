"""Question answering over news articles, with a cited passage for every claim.

    from qa import Assistant
    a = Assistant()            # the index under .qa/ (run `qa index` first)
    print(a.ask("How many ballistic missiles did Iran fire at Israel?").text)
"""
from qa.config import Config
from qa.errors import QAError
from qa.types import Answer, Article, Citation, IndexReport, Passage

__all__ = ["Assistant", "Config", "QAError", "Answer", "Article", "Citation", "IndexReport",
           "Passage"]


def __getattr__(name):
    # Lazy, so `import qa` stays cheap and `index` can import qa's dataclasses without a cycle.
    if name == "Assistant":
        from qa.assistant import Assistant

        return Assistant
    raise AttributeError(name)
