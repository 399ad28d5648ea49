"""Read articles (.txt, .md, .html, .pdf) from files and folders."""
from __future__ import annotations

import datetime
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import ArticleError
from index.types import Article

if TYPE_CHECKING:
    from pypdf import PdfReader

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
_KINDS = ".txt, .md, .html or .pdf"


def find_files(paths: list[str | Path]) -> tuple[list[Path], list[str]]:
    """Files to index under `paths` (folders walked without following links), and skip notes."""
    files, skipped = [], []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, names in os.walk(path):  # followlinks=False: a link loop cannot trap us
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(n for n in names if not n.startswith(".")):
                    _sort_file(Path(root) / name, files, skipped)
        elif path.is_file():
            _sort_file(path, files, skipped)
        else:
            skipped.append(f"{path}: no such file or folder")
    return files, skipped


def _sort_file(path: Path, files: list[Path], skipped: list[str]) -> None:
    if path.suffix.lower() in SUFFIXES:
        files.append(path)
    else:
        skipped.append(f"{path}: not a {_KINDS} file")


def read_article(path: str | Path, max_bytes: int = 100 * 2**20) -> Article:
    """One article with its title and, where the file states them, author, outlet and date."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ArticleError(f"unsupported file type '{suffix or path.name}'; save it as {_KINDS}")
    data = _read_bytes(path, max_bytes)
    if suffix == ".pdf":
        text, meta = _read_pdf(data)
    elif suffix in (".html", ".htm"):
        text, meta = _read_html(_decode(data))
    else:
        text, meta = _read_text(data), {}
    author, outlet = find_byline(text)
    return Article(
        path=str(path.resolve()),
        source=path.name,
        title=meta.get("title") or find_title(text),
        text=text,
        outlet=meta.get("outlet") or outlet,
        date=meta.get("date") or find_date(text),
        author=meta.get("author") or author,
    )


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing one over `max_bytes` before reading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleError(f"{size / 2**20:.1f} MB is over the {max_bytes / 2**20:g} MB limit; "
                               "split the file or raise QA_MAX_FILE_MB")
        return path.read_bytes()
    except OSError as e:
        raise ArticleError(f"cannot read it ({e.strerror or e}); check that it exists "
                           "and that you may read it") from None


def _read_text(data: bytes) -> str:
    text = _decode(data)
    if not text.strip():
        raise ArticleError("empty: no text to index; add the article's text or remove the file")
    return text


def _decode(data: bytes) -> str:
    """UTF-8 text with a BOM dropped and every line ending made '\\n'."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ArticleError("UTF-16 text; convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8 IN > OUT")
    if b"\x00" in data[:8192]:
        raise ArticleError("binary data, not text; if it is a renamed document (a .docx, say), "
                           f"save it as {_KINDS}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ArticleError(f"not UTF-8 text (bad byte at {e.start}); convert it, "
                           "e.g. iconv -f WINDOWS-1252 -t UTF-8 IN > OUT") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_html(html: str) -> tuple[str, dict[str, str]]:
    """The page's main text, paragraphs apart, and what its metadata says."""
    import trafilatura  # slow to import (as is pypdf): only pages need it

    options = {"include_comments": False, "include_tables": False}
    text = (trafilatura.extract(html, favor_precision=True, **options)
            # precision can drop everything on a short or oddly built page
            or trafilatura.extract(html, favor_precision=False, **options)
            or trafilatura.html2txt(html))
    text = re.sub(r"[ \t]*\n\s*", "\n\n", text.strip())  # one block per line: make it a paragraph
    if not text:
        raise ArticleError("no article text found in the page; save the article's text as .txt")
    # extensive=False: the extensive search turns a "Copyright 2019" footer into 2019-01-01
    meta = trafilatura.extract_metadata(html, extensive=False)
    site = meta.sitename or ""
    return text, {
        "title": _drop_site(meta.title or "", site),
        "author": (meta.author or "").replace("; ", ", "),
        "date": meta.date or "",
        "outlet": site,
    }


def _drop_site(title: str, site: str) -> str:
    """'Story | CNN Politics' -> 'Story' when the part after the last separator names the site."""
    m = re.fullmatch(r"(.+)\s[|–—-]\s(.+)", title)
    return m[1].strip() if m and site and site.lower() in m[2].lower() else title


def _read_pdf(data: bytes) -> tuple[str, dict[str, str]]:
    """Text of every page, pages apart, and the title the PDF's metadata gives."""
    reader = _open_pdf(data)
    try:
        pages = [page.extract_text() for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except Exception as e:  # pypdf raises many kinds of error on a damaged file
        raise _damaged(e) from None
    text = _tidy_pdf(pages)
    if not text:
        raise ArticleError("PDF has no text layer (scanned?); run OCR first, "
                           "e.g. ocrmypdf IN.pdf OUT.pdf")
    return text, {"title": " ".join(str(title).split())}


def _open_pdf(data: bytes) -> PdfReader:
    """A pypdf reader, unlocked when the PDF is encrypted without a password."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data))
        unlocked = not reader.is_encrypted or reader.decrypt("")
    except DependencyError:  # AES needs the 'cryptography' package, which is not installed
        unlocked = False
    except Exception as e:  # pypdf raises many kinds of error on a damaged file
        raise _damaged(e) from None
    if not unlocked:
        raise ArticleError("encrypted PDF; remove the password first, "
                           "e.g. qpdf --decrypt --password=PASSWORD IN.pdf OUT.pdf")
    return reader


def _damaged(e: Exception) -> ArticleError:
    return ArticleError(f"damaged PDF ({type(e).__name__}: {str(e)[:100]}); repair it, "
                        "e.g. qpdf IN.pdf OUT.pdf, or print it to a new PDF")


def _tidy_pdf(pages: list[str]) -> str:
    """Pages apart by a blank line, runs of spaces made one, and 'exam-\\nple' made 'example'."""
    text = "\n\n".join(pages).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[^\S\n]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    text = re.sub(r"(?<=[a-z])-\n(?=[a-z])", "", text)  # a word broken at the line's end
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def find_title(text: str, limit: int = 160) -> str:
    """A headline near the top, else the lede's first sentence; never a picture's caption."""
    lines = [ln.strip().lstrip("#").strip() for ln in text.splitlines() if ln.strip()]
    # The story starts below its byline: a sentence above it is a caption (or a summary)
    story = next((i + 1 for i, ln in enumerate(lines[:5]) if any(find_byline(ln))), 0)
    for i, line in enumerate(lines):
        # Dates and pictures' credits (a caption carries one) sit above the story too
        if any(find_byline(line)) or _CREDIT.search(line) or _is_dateline(line):
            continue
        if _is_headline(line):
            return line
        if i >= story:
            return _first_sentence(line, limit)  # the lede
    return _first_sentence(lines[0], limit) if lines else ""


def _is_headline(line: str, most_words: int = 20) -> bool:
    """Short, and not a sentence: a final period only in title case ("Mill Fire Contained.")."""
    if len(line.split()) > most_words:
        return False
    long_words = re.findall(r"[^\W\d][\w'’-]{3,}", line)
    title_case = sum(w[0].isupper() for w in long_words) >= 0.8 * len(long_words)
    return not line.endswith(".") or title_case


def _is_dateline(line: str) -> bool:
    """A line that is a date and a few words ("Published: Oct. 1, 2024 at 9:15 a.m.")."""
    return bool(_DATE.search(line)) and len(_DATE.sub("", line).split()) <= 4


def _first_sentence(line: str, limit: int) -> str:
    """The line's first sentence, cut at a word with '…' beyond `limit` characters."""
    # A sentence ends at ". " before a capital or bracket, but not after an abbreviation
    # like "Oct." or an initial
    m = re.search(r"(?<![A-Z][a-z])(?<![A-Z])[.!?](?=\s+[A-Z(“\"]|$)", line)
    line = line[: m.end()] if m else line
    return line if len(line) <= limit else line[: limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


_NAME = r"[A-Z][\w.'’-]+(?:\s[A-Z][\w.'’-]+){1,3}"
_NAMES = re.compile(rf"{_NAME}(?:(?:,\s*|,?\s+and\s+){_NAME})*")
_OUTLET = re.compile(r"(?:The\s)?[A-Z][\w.&'’-]*(?:\s[A-Z][\w.&'’-]*){0,5}")
# A picture's credit is set like a byline but names who took the picture: names split by
# slashes ("JOHN DOE/AFP/GETTY IMAGES", "Jane Roe / Reuters"), or the picture's label before
# them ("Photo: Jane Roe for The Daily Planet", "Credit...Jane Roe", "(Courtesy of ...").
_PICTURE = r"(?:photo(?:graph)?|image|picture|illustration|credit)s?"
_CREDIT = re.compile(rf"\b{_PICTURE}\s*(?::|by\b|\.\.\.|…)|\(\s*{_PICTURE}\b|\bcourtesy of\b"
                     r"|\bgetty images\b|[^\W\d]\s*/\s*(?-i:[A-Z])", re.IGNORECASE)


def is_credit(line: str) -> bool:
    """Whether a byline-like line credits a picture rather than naming the story's writers."""
    # A label may open it bare here ("Photo Jane Roe, Reuters"), and names in capitals with no
    # "BY" before them are a credit's ("JOHN DOE, AFP"): writers' follow a "BY"
    opens = re.match(rf"\W*{_PICTURE}\b", line, re.IGNORECASE)
    return bool(_CREDIT.search(line) or opens) or (line.isupper() and line[:3].lower() != "by ")


def find_byline(text: str) -> tuple[str, str]:
    """(author, outlet) from a 'By Name[, Outlet]' or 'Name and Name, Outlet' line near the top."""
    for line in text.splitlines()[:12]:
        line = line.strip().strip("*_").strip()  # markdown may set the byline in italics
        if not line or len(line) > 120 or is_credit(line):
            continue
        has_by = line[:3].lower() == "by "
        body = line[3:].strip() if has_by else line
        names, sep, outlet = body.rpartition(", ")
        if sep and _NAMES.fullmatch(names) and _OUTLET.fullmatch(outlet):
            return names, outlet
        if has_by and _NAMES.fullmatch(body):
            return body, ""
    return "", ""


_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_DAY, _YEAR = r"\d{1,2}(?:st|nd|rd|th)?", r"(?:19|20)\d\d"
_DATE = re.compile(
    rf"\b(?P<m1>{_MONTH})\.?\s+(?P<d1>{_DAY}),?\s+(?P<y1>{_YEAR})\b"  # Oct. 1, 2024
    rf"|\b(?P<d2>{_DAY})\s+(?P<m2>{_MONTH})\.?,?\s+(?P<y2>{_YEAR})\b"  # 1 October 2024
    r"|(?<!\d)(?P<y3>(?:19|20)\d\d)-(?P<m3>\d\d)-(?P<d3>\d\d)(?!\d)",  # 2024-10-01
    re.IGNORECASE,
)
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_PUBLISHED = re.compile(r"\s*(?:first\s+)?(?:published|posted)\b", re.IGNORECASE)


_DATELINE = 150  # characters


def find_date(text: str) -> str:
    """The ISO date the opening lines state, preferring a 'Published' line; '' when none does."""
    dates = []
    for line in text[:2000].splitlines()[:15]:
        # A dateline opens its line; a date deep in a paragraph is one the story reports
        # (an article saved as one long line has no opening lines but its first words).
        for iso in filter(None, map(_iso, _DATE.finditer(line[:_DATELINE]))):
            if _PUBLISHED.match(line):
                return iso
            dates.append(iso)
    return dates[0] if dates else ""


def _iso(m: re.Match) -> str:
    """'YYYY-MM-DD' of a _DATE match, or '' when it names no real day (say, Feb. 30)."""
    if m["y3"]:
        year, month, day = m["y3"], m["m3"], m["d3"]
    else:
        year = m["y1"] or m["y2"]
        month = _MONTHS.index((m["m1"] or m["m2"])[:3].lower()) + 1
        day = re.match(r"\d+", m["d1"] or m["d2"])[0]  # "1st" -> "1"
    try:
        return datetime.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""
