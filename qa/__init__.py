"""Question answering over news articles, with a cited passage for every claim.

    from qa import Assistant
    a = Assistant()            # the index under .qa/ (run `qa index` first)
    print(a.ask("What happened?").text)
"""
from qa.config import Config
from qa.errors import QAError
from qa.types import Answer, ArticleInfo, Citation, IndexReport, Passage

__all__ = ["Assistant", "Config", "QAError", "Answer", "ArticleInfo", "Citation", "IndexReport",
           "Passage"]


def __getattr__(name):
    # Lazy, so that `import qa` stays cheap for the command line.
    if name == "Assistant":
        from qa.assistant import Assistant

        return Assistant
    raise AttributeError(name)
