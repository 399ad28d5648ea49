"""Read articles (.txt, .md, .html) from files and folders."""
from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

from qa.types import Article

SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}


def find_files(paths: list[str | Path]) -> tuple[list[Path], list[str]]:
    """Files to index under `paths` (folders walked without following links), and skip notes."""
    files, skipped = [], []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, names in os.walk(path):  # followlinks=False: a link loop cannot trap us
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if name.startswith("."):
                        continue
                    f = Path(root) / name
                    if f.suffix.lower() in SUFFIXES:
                        files.append(f)
                    else:
                        skipped.append(f"{f}: not a .txt, .md or .html file")
        elif path.is_file():
            if path.suffix.lower() in SUFFIXES:
                files.append(path)
            else:
                skipped.append(f"{path}: not a .txt, .md or .html file")
        else:
            skipped.append(f"{path}: no such file or folder")
    return files, skipped


def read_article(path: Path, max_bytes: int = 100 * 2**20) -> Article:
    """One article with its title and, where a line states them, byline and outlet."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{size / 2**20:.0f} MB is over the {max_bytes / 2**20:.0f} MB limit; "
                         "split the file or raise QA_MAX_FILE_MB")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise ValueError("binary data, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"not UTF-8 (byte {e.start}); convert it, e.g. iconv -f latin1 -t utf-8"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    title = ""
    if path.suffix.lower() in (".html", ".htm"):
        title, text = html_to_text(text)
    if not text.strip():
        raise ValueError("empty: no text to index")
    byline, outlet = find_byline(text)
    return Article(
        path=str(path.resolve()),
        source=path.name,
        title=title or first_line(text),
        text=text,
        outlet=outlet,
        byline=byline,
    )


def first_line(text: str, limit: int = 160) -> str:
    """The first line; when it is long (a photo caption, say), its first sentence."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = line.lstrip("#").strip()
    if len(line) > limit:
        # A sentence ends at ". " before a capital, but not after an abbreviation like "Oct."
        m = re.search(r"(?<![A-Z][a-z])(?<![A-Z])[.!?](?=\s+[A-Z])", line[: limit + 40])
        line = line[: m.end()] if m else line[: limit - 1].rstrip() + "…"
    return line


_NAME = r"[A-Z][\w.'’-]+(?:\s[A-Z][\w.'’-]+){1,3}"
_NAMES = re.compile(rf"{_NAME}(?:(?:,\s*|,?\s+and\s+){_NAME})*")
_OUTLET = re.compile(r"(?:The\s)?[A-Z][\w.&'’-]*(?:\s[A-Z][\w.&'’-]*){0,5}")


def find_byline(text: str) -> tuple[str, str]:
    """(byline, outlet) from a 'By Name[, Outlet]' or 'Name and Name, Outlet' line near the top."""
    for line in text.splitlines()[:12]:
        line = line.strip()
        if not line or len(line) > 120:
            continue
        has_by = line.startswith("By ")
        body = line[3:].strip() if has_by else line
        names, sep, outlet = body.rpartition(", ")
        if sep and _NAMES.fullmatch(names) and _OUTLET.fullmatch(outlet):
            return names, outlet
        if has_by and _NAMES.fullmatch(body):
            return body, ""
    return "", ""


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "head", "svg"}
    _BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
              "article", "header", "footer", "blockquote", "pre", "ul", "ol", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """(title, visible text) of an HTML page; scripts and styles are dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return " ".join("".join(parser.title).split()), text
