"""The Articles tab's work: add uploaded files to the collection, list it, remove articles."""
from __future__ import annotations

import contextlib
import filecmp
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from index.load import SUFFIXES
from index.types import ArticleInfo
from qa.errors import QAError
from ui import render

log = logging.getLogger(__name__)

LIMIT_MB = 20  # per uploaded file; `qa index` takes larger ones (QA_MAX_FILE_MB)
KINDS = ".txt, .md, .html or .pdf"
COLUMNS = ["Title", "Outlet", "Date", "Passages", "File"]
EXAMPLES = 3  # example questions offered in the empty chat, one per newest article
TITLE_CHARS = 80  # longer titles are shortened in example questions and buttons


class UploadError(QAError):
    """An uploaded file that is not added; the message says why and what to do."""


def _quiet(*args, **kwargs) -> None:
    """A progress callback that shows nothing (the page passes gr.Progress instead)."""


class Articles:
    """Adds and removes articles for every session, one change at a time and never while an
    answer is written: `chat` (ui/chat.py) owns the lock on the model they share."""

    def __init__(self, assistant, chat, uploads: str | Path | None = None,
                 limit_mb: float = LIMIT_MB):
        self.assistant, self.chat, self.limit_mb = assistant, chat, limit_mb
        self.uploads = Path(uploads or Path(assistant.config.data_dir) / "uploads").resolve()

    # The collection -------------------------------------------------------------------------
    def listing(self) -> list[tuple[str, list]]:
        """(path, table row) of each indexed article, in reading order."""
        return listing(indexed(self.assistant))

    # Adding ---------------------------------------------------------------------------------
    def upload(self, files, progress: Callable = _quiet) -> tuple[str, list[tuple[str, list]]]:
        """Add uploaded files one by one; the status panel's HTML and the new listing.

        A file that cannot be added leaves the collection as it was and says why.
        """
        paths = [Path(getattr(f, "path", None) or f) for f in (files or [])]
        if not paths:
            return render.article_note("Choose one or more files to add."), self.listing()
        added, problems = [], []
        for i, path in enumerate(paths):
            name = path.name
            progress((i, len(paths)), desc=f"Adding {name} ({i + 1} of {len(paths)})")
            waiting = f"Waiting for the answer or upload in progress, then {name}"
            try:
                added.append(self._add(path, lambda: progress((i, len(paths)), desc=waiting)))
            except QAError as e:
                problems.append((name, str(e)))
            except Exception as e:  # the log gets the traceback; the page a short sentence
                log.exception("adding %s failed", path)
                problems.append((name, f"it could not be added ({type(e).__name__}); the "
                                       "server's log has the details"))
        progress((len(paths), len(paths)), desc="Done")
        if added:  # the model reads them now, behind questions
            self.assistant.read_in_background()
        return render.upload_report(added, problems), self.listing()

    def _add(self, path: Path, waiting: Callable) -> ArticleInfo:
        """Copy one file into uploads/ and index it alone; the article as listed."""
        self._check(path)
        with self.chat.exclusive(waiting):
            present = self.assistant.articles()
            same = self._same_upload(path, present)
            if same:
                raise UploadError(f"it is already in the collection as {same.source}")
            target = self._claim(path.name, {a.source for a in present})
            try:
                shutil.copyfile(path, target)
                # prune=False: indexing one file must never touch any other article. The
                # model reads it after the lock is released (see `upload`), so questions are
                # answered meanwhile; one that needs a passage not read yet reads it then.
                report = self.assistant.index([target], prune=False, read=False)
            except BaseException:
                self._undo(target, stored=True)
                raise
            if report.skipped:  # empty, binary, not UTF-8, damaged PDF...: nothing was stored
                self._undo(target, stored=False)
                raise UploadError("; ".join(_why(note, target) for note in report.skipped))
            info = next((a for a in self.assistant.articles() if a.path == str(target)), None)
        if info is None:
            raise UploadError("no text was found to index in it")
        return info

    def _check(self, path: Path) -> None:
        """Refuse, before anything is copied, a file of the wrong kind or size."""
        if path.suffix.lower() not in SUFFIXES:
            raise UploadError(f"not a {KINDS} file; save the article as one of those")
        try:
            size = path.stat().st_size
        except OSError:
            raise UploadError("the upload did not arrive; try again") from None
        if size > self.limit_mb * 2**20:
            raise UploadError(f"{size / 2**20:.1f} MB is over the {self.limit_mb:g} MB limit "
                              "for uploads; split the file, or save only the article's text "
                              "as .txt")

    def _same_upload(self, path: Path, present: list[ArticleInfo]) -> ArticleInfo | None:
        """An uploaded article with exactly these bytes (the index only notices duplicates
        within one run, and each upload is a run of its own)."""
        size = path.stat().st_size
        for a in present:
            copy = Path(a.path)
            if (self.is_upload(a.path) and copy.is_file() and copy.stat().st_size == size
                    and filecmp.cmp(path, copy, shallow=False)):
                return a
        return None

    def _claim(self, name: str, taken: set[str]) -> Path:
        """A new file in uploads/ named `name`, or `name-2`, `name-3`... where that is taken by
        an upload or by an indexed article (citations name articles by file name)."""
        self.uploads.mkdir(parents=True, exist_ok=True)
        stem, suffix = Path(name).stem, Path(name).suffix
        for n in range(1, 10_000):
            candidate = name if n == 1 else f"{stem}-{n}{suffix}"
            if candidate in taken:
                continue
            try:
                # "x": created here or not at all, so two servers on one data dir cannot share it
                open(self.uploads / candidate, "x").close()
                return self.uploads / candidate
            except FileExistsError:
                continue
        raise UploadError(f"too many uploads are named {name}; rename it")

    def _undo(self, target: Path, stored: bool) -> None:
        """Forget a failed upload: its passages (if any were stored) and its copy."""
        try:
            if stored:
                self.assistant.remove([str(target)])
            target.unlink(missing_ok=True)
        except Exception:  # the copy stays where its passages do: listed, and removable
            log.exception("undoing the upload of %s failed", target)

    # Removing -------------------------------------------------------------------------------
    def remove(self, path: str | None) -> tuple[str, list[tuple[str, list]]]:
        """Remove one article (by path: a file name may be shared) and its uploaded copy."""
        if not path:
            return (render.article_note("Select an article in the table first."),
                    self.listing())
        try:
            with self.chat.exclusive():
                info = next((a for a in self.assistant.articles() if a.path == path), None)
                if info is None:
                    note = render.article_note("That article was already removed.")
                else:
                    removed = self.assistant.remove([path])
                    if self.is_upload(path):
                        # A copy left behind is harmless: no longer indexed, its name skipped
                        with contextlib.suppress(OSError):
                            Path(path).unlink(missing_ok=True)
                    note = render.removed(info, removed)
        except QAError as e:
            note = render.article_note(str(e), error=True)
        except Exception as e:
            log.exception("removing %s failed", path)
            note = render.article_note(f"It could not be removed ({type(e).__name__}); the "
                                       "server's log has the details.", error=True)
        rows = self.listing()
        if not rows:
            note += render.article_note("The collection is empty: questions get no answer "
                                        "until you add an article.", error=True)
        return note, rows

    def is_upload(self, path: str) -> bool:
        return Path(path).parent == self.uploads


def indexed(assistant) -> list[ArticleInfo]:
    """The indexed articles, or none where the index cannot be read (the chat and the upload
    notes say why)."""
    try:
        return assistant.articles()
    except QAError:
        return []


def listing(articles: list[ArticleInfo]) -> list[tuple[str, list]]:
    """(path, table row) of each article: the path stays on the server, the row is shown."""
    # ISO dates: the page sorts a column as text
    return [(a.path, [a.title or a.source, a.outlet, a.date, a.passages, a.source])
            for a in articles]


def selected(listed: list, index: int | None, values: list | None) -> str | None:
    """The path of the table row a user picked, found by its values (the page may have sorted
    the table) and else by its position."""
    for path, shown in listed or []:
        if values is not None and [str(v) for v in shown] == [str(v) for v in values]:
            return path
    if index is not None and 0 <= index < len(listed or []):
        return listed[index][0]
    return None


def examples(articles: list[ArticleInfo]) -> list[str]:
    """Generic questions about the newest articles, one each, for the empty chat."""
    titles = [short(a.title) for a in reversed(articles)]
    return [f"What does “{t}” report?" for t in titles if t][:EXAMPLES]


def short(title: str, limit: int = TITLE_CHARS) -> str:
    """The title on one line, cut at a word and marked … where it is over `limit`."""
    title = " ".join(title.split())
    if len(title) > limit:
        title = title[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return title


def _why(note: str, target: Path) -> str:
    """A skip note without the server's path of the copy: 'path: why' -> 'why'."""
    return note.removeprefix(f"{target}: ")
