"""Load and check a Q&A file: one JSON object per line (format in eval/README.md)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import QAFileError

DEFAULT_FILE = Path(__file__).resolve().parent / "qa.jsonl"
DECISIONS = Path(__file__).resolve().parent / "decisions"  # each fitted without one set


def set_name(qa_file: str | Path) -> str:
    """A question set's short name: `own` for eval/qa.jsonl, a folder's name for its qa.jsonl,
    else the file's stem."""
    path = Path(qa_file)
    if path.stem == "qa":
        return "own" if path.parent.name == "eval" else path.parent.name
    return path.stem


def held_out_decision(qa_file: str | Path) -> Path | None:
    """The decision fitted without this set (`qa fit`), if there is one."""
    path = DECISIONS / f"without-{set_name(qa_file)}.json"
    return path if path.exists() else None
FIELDS = {"id": str, "question": str, "answer": str, "must_include": list, "sources": list,
          "answerable": bool}
# What a question tests beyond a fact (eval/news/): `kind` "disagreement" with `values` (each
# report's value and its file), "when" with `date` (YYYY-MM-DD), or "plain".
OPTIONAL = {"kind": str, "values": list, "date": str}
KINDS = ("plain", "disagreement", "when")
_TYPE_NAMES = {str: "a string", list: "a list", bool: "true or false"}
_HINT = "Each line is one JSON object with exactly: " + ", ".join(FIELDS) + " (see eval/README.md)."


@dataclass
class Question:
    id: str
    question: str
    answer: str  # the reference answer, for token F1 and the report
    must_include: list[str] = field(default_factory=list)  # facts; "a|b" means either
    sources: list[str] = field(default_factory=list)  # article file names holding the answer
    answerable: bool = True
    line: int = 0
    kind: str = "plain"
    values: list[dict] = field(default_factory=list)  # {"value": "15|fifteen", "source": file}
    date: str = ""  # the absolute date a "when" question's answer gives


def load(path: str | Path | None = None, limit: int | None = None) -> list[Question]:
    """The questions of a Q&A file, checked line by line; the first `limit` if given."""
    path = Path(path) if path else DEFAULT_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise QAFileError(f"No Q&A file at {path}. Pass an existing file with --qa FILE.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise QAFileError(f"Cannot read the Q&A file {path}: {e}. It must be UTF-8 text.") from None
    questions, seen = [], {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # a blank line (often the last) carries no question
        q = parse(line, number, where=f"{path}:{number}")
        if q.id in seen:
            raise QAFileError(f"{path}:{number}: duplicate id {q.id!r} (first on line "
                              f"{seen[q.id]}). Give every question its own id.")
        seen[q.id] = number
        questions.append(q)
    if not questions:
        raise QAFileError(f"{path} holds no questions. {_HINT}")
    return questions[:limit] if limit else questions


def parse(line: str, number: int = 0, where: str = "") -> Question:
    """One line as a Question, or a QAFileError saying what is wrong with it."""

    def fail(what: str):
        raise QAFileError(f"{where or f'line {number}'}: {what}")

    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        fail(f"not valid JSON ({e.msg} at column {e.colno}). {_HINT}")
    if not isinstance(obj, dict):
        fail(f"expected a JSON object, not {json.dumps(obj)[:60]}. {_HINT}")
    missing = sorted(FIELDS.keys() - obj.keys())
    extra = sorted(obj.keys() - FIELDS.keys() - OPTIONAL.keys())
    if missing:
        fail(f"missing field{'s' * (len(missing) > 1)} {', '.join(missing)}. {_HINT}")
    if extra:
        fail(f"unknown field{'s' * (len(extra) > 1)} {', '.join(extra)}. {_HINT}")
    for name, kind in {**FIELDS, **OPTIONAL}.items():
        if name in obj and not isinstance(obj[name], kind):  # 1 is not true here
            fail(f"{name} must be {_TYPE_NAMES[kind]}, not {json.dumps(obj[name])[:60]}.")
    _check_kind(obj, fail)
    for name in ("id", "question", "answer"):
        if not obj[name].strip():
            fail(f"{name} is empty.")
    for name in ("must_include", "sources"):
        for item in obj[name]:
            if not isinstance(item, str) or not item.strip():
                fail(f"{name} must hold only non-empty strings, not {json.dumps(item)}.")
    for item in obj["must_include"]:
        if any(not alt.strip() for alt in item.split("|")):
            fail(f"must_include item {item!r} has an empty alternative; write 'a|b'.")
    if obj["answerable"] and not (obj["sources"] and obj["must_include"]):
        fail("an answerable question needs at least one source and one must_include fact.")
    if not obj["answerable"] and (obj["sources"] or obj["must_include"]):
        fail("an unanswerable question must have empty sources and must_include.")
    return Question(line=number, **obj)


def _check_kind(obj: dict, fail) -> None:
    kind = obj.get("kind", "plain")
    if kind not in KINDS:
        fail(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    if kind == "disagreement":
        values = obj.get("values", [])
        if len(values) < 2 or not all(isinstance(v, dict) and set(v) == {"value", "source"}
                                      and all(isinstance(x, str) and x for x in v.values())
                                      for v in values):
            fail('a disagreement needs values: [{"value": "15", "source": "file"}, ...], '
                 "at least two.")
    elif obj.get("values"):
        fail("only a disagreement question has values.")
    if kind == "when":
        import datetime

        try:
            datetime.date.fromisoformat(obj.get("date", ""))
        except ValueError:
            fail(f"a when question needs date as YYYY-MM-DD, not {obj.get('date')!r}.")
    elif obj.get("date"):
        fail("only a when question has a date.")



# Words of a question's form or grammar, not of what it asks about.
_FORM_WORDS = set("""a an the of in on at to for from by with and or but is are was were be been being
has have had it its this that these those as into than then there their they he she his her him
them who whom whose which what when where why how did do does not no yes said says say about
after before over under up out more most some any all also just only very can could would should
will may might according article articles report reported reports many much one two first""".split())


def content_words(question: str) -> set[str]:
    """The stemmed words of a question that say what it is about."""
    import Stemmer  # PyStemmer, installed with the BM25 retriever

    stem = Stemmer.Stemmer("english").stemWord
    text = question.lower().replace("’", "'").replace("'s", "")
    return {stem(w) for w in re.findall(r"[a-z0-9]+", text) if w not in _FORM_WORDS}


def overlap(question: str, other: str) -> float:
    """The share of `question`'s content words that `other` also uses."""
    mine = content_words(question)
    return len(mine & content_words(other)) / len(mine) if mine else 1.0
