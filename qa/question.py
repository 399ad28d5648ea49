"""Questions as asked: checked, and split where they ask several things."""
from __future__ import annotations

import re

from qa import text as T
from qa.errors import InputError


def check(question, limit: int) -> str:
    """The question with its spaces tidied, or an InputError saying what to change."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("The question is empty. Type a question about the articles.")
    question = " ".join(question.split())
    if len(question) > limit:
        raise InputError(f"The question is {len(question):,} characters; the limit is {limit:,}. "
                         "Shorten it, or raise --max-question-chars (QA_MAX_QUESTION_CHARS).")
    return question


# "What started it, and how many died?" asks two things: each is searched and answered on its
# own too, or the answer to the first crowds out the second.
_SECOND_PART = re.compile(r"(?:,|;)?\s+and\s+(?=(?:what|who|whom|whose|which|where|when|why|how|"
                          r"whether|did|does|do|is|are|was|were|has|have|had)\b)|;\s*", re.I)


def parts(question: str) -> list[str]:
    """The question's parts when it asks several things, else []."""
    pieces = [p.strip(" ,;?") for p in _SECOND_PART.split(question)]
    pieces = [p[0].upper() + p[1:] + "?" for p in pieces if len(T.content_words(p)) >= 2]
    return pieces if len(pieces) > 1 else []
