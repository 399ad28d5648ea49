"""A passage's dates made absolute against its article's publication date (dateparser).

"On Tuesday" in a report of Wednesday 4 May 2011 is 3 May 2011: resolved once, at index time,
and stored with the passage as (start, end, ISO date, period) so that answers and timelines
can show the date beside the article's own words.
"""
from __future__ import annotations

import datetime
import json
import re
from functools import lru_cache

_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS = ("january february march april may june july august september october november "
           "december").split()
# A phrase dateparser finds is kept only if it names a day, a month or a span relative to the
# report: its search also reads "may", "now", "second" or a bare number as dates.
_ANCHOR = re.compile(
    r"\b(?:" + "|".join(w.capitalize() for w in _WEEKDAYS + _MONTHS) + r"|(?:Jan|Feb|Mar|Apr|"
    r"Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?|[Yy]esterday|[Tt]oday|[Tt]onight|[Tt]omorrow|"
    r"(?:last|next|this|past|previous)\s+(?:week|month|year|weekend)|\d+\s+(?:days?|weeks?|"
    r"months?|years?)\s+ago|\d{4}-\d\d-\d\d)\b")
# Words dateparser takes into a phrase that are not part of the date ("and last week").
_EDGE = {"on", "and", "the", "a", "an", "of", "at", "by", "in", "since", "until", "from", "to", "as",
         "early", "late", "year", "that", "for", "but", "or", "when", "while", "who", "he", "she",
         "it", "they", "we", "i"}
_ABBREVIATED = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.")
_YEAR = re.compile(r"^(?:last|this|next|past|previous) year$", re.I)
# News reports the past; these words before a date say it is ahead ("talks are set for
# Thursday", "will vote on Friday", "next week").
_FUTURE = re.compile(r"\b(?:will|shall|'ll|set for|scheduled|due|expected|plans?|planned|"
                     r"going to|is to|are to|next|upcoming)\b", re.I)
_PERIODS = ("day", "week", "month", "year")


def resolve(text: str, published: str = "") -> list[list]:
    """[start, end, ISO date, period] for each date phrase of `text`, in order; a phrase that
    needs the publication date is left out when the article has none."""
    base = _day(published)
    found, cursor = [], 0
    # "Dec. 5" is one date to a reader; to dateparser's search the full stop ends it.
    text = _ABBREVIATED.sub(lambda m: m.group(1) + " ", text)
    for phrase, _ in _search(text, base):
        # dateparser returns the phrase with its spaces tidied: find it by its words.
        m = re.compile(r"\s+".join(map(re.escape, phrase.split()))).search(text, cursor)
        if not m:
            continue
        start, end = _trim(text, m.start(), m.end())
        cursor = m.end()
        words = text[start:end]
        if not _ANCHOR.search(words):
            continue
        if base is None and not re.search(r"\b\d{4}\b", words):
            continue  # "Tuesday" in an undated article: which Tuesday is unknown
        got = _parse(words, base, _ahead(text, start))
        if got and got[1] == "year" and not _YEAR.search(words):
            continue  # "30 years ago" may be "more than 30 years ago"; "1979" is absolute
        if got:
            found.append([start, end, *got])
    return found


def spoken(iso: str, period: str = "day") -> str:
    """How a resolved date is shown: '3 May 2011', 'May 2011', 'the week of 25 April 2011'."""
    try:
        d = datetime.date.fromisoformat(iso)
    except ValueError:
        return iso
    if period == "month":
        return f"{d:%B} {d.year}"
    if period == "year":
        return str(d.year)
    if period == "week":
        monday = d - datetime.timedelta(days=d.weekday())
        return f"the week of {monday.day} {monday:%B} {monday.year}"
    return f"{d.day} {d:%B} {d.year}"


def dumps(dates: list[list]) -> str:
    return json.dumps(dates, separators=(",", ":"))


def loads(stored) -> list[list] | None:
    """Dates as stored with a passage; None where they were never resolved (an older index)."""
    if stored is None:
        return None
    try:
        dates = json.loads(stored)
    except (TypeError, ValueError):
        return None
    ok = isinstance(dates, list) and all(
        isinstance(d, list) and len(d) == 4 and isinstance(d[0], int) and isinstance(d[1], int)
        and isinstance(d[2], str) and d[3] in _PERIODS for d in dates)
    return dates if ok else None  # damaged: resolved again, like any stored reading


def _day(iso: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.combine(datetime.date.fromisoformat(iso[:10]), datetime.time())
    except (TypeError, ValueError):
        return None


def _settings(base: datetime.datetime | None) -> dict:
    settings = {"PREFER_DATES_FROM": "past", "RETURN_AS_TIMEZONE_AWARE": False,
                "REQUIRE_PARTS": []}
    if base is not None:
        settings["RELATIVE_BASE"] = base
    return settings


def _search(text: str, base) -> list[tuple[str, datetime.datetime]]:
    from dateparser.search import search_dates

    try:
        return search_dates(text, languages=["en"], settings=_settings(base)) or []
    except Exception:  # dateparser fails on some odd strings; an unresolved date stays as written
        return []


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The phrase without the joining words dateparser took in at either end."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    while words and text[words[0][0]:words[0][1]].lower().strip(",.;:") in _EDGE:
        words.pop(0)
    while words and text[words[-1][0]:words[-1][1]].lower().strip(",.;:") in _EDGE:
        words.pop()
    if not words:
        return start, start
    a, b = words[0][0], words[-1][1]
    while b > a and text[b - 1] in ",.;:":
        b -= 1
    return a, b


def _ahead(text: str, start: int) -> bool:
    """Whether the words just before a date phrase speak of what is still to come."""
    before = re.split(r"[.!?;]\s", text[max(0, start - 60):start])[-1]  # this sentence's
    return bool(_FUTURE.search(" ".join(before.split()[-8:])))


def _parse(words: str, base, future: bool = False) -> list | None:
    """[ISO date, period] of one phrase; `future`: the nearest such day ahead, not behind."""
    if base is not None and words.lower().strip() in _WEEKDAYS:
        # A report's "on Wednesday", written on a Wednesday, is that day; dateparser's
        # preference for the past (or the future) would move it a week.
        base = base + datetime.timedelta(days=-1 if future else 1)
    try:
        data = _parser().get_date_data(words) if base is None else \
            _dated_parser(base, future).get_date_data(words)
    except Exception:
        return None
    if data is None or data.date_obj is None:
        return None
    period = data.period if data.period in _PERIODS else "day"
    return [data.date_obj.date().isoformat(), period]


@lru_cache(maxsize=1)
def _parser():
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings=_settings(None))


@lru_cache(maxsize=256)
def _dated_parser(base: datetime.datetime, future: bool = False):
    from dateparser.date import DateDataParser

    settings = _settings(base)
    if future:
        settings["PREFER_DATES_FROM"] = "future"
    return DateDataParser(languages=["en"], settings=settings)
