"""The chat handler: streams an answer and its sources for one message of one session."""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from qa.errors import QAError
from qa.types import Answer
from ui import render

log = logging.getLogger(__name__)


class BusyError(QAError):
    """The model stayed busy longer than a change to the collection may wait."""


class Chat:
    """Answers chat messages with one shared Assistant, one answer at a time.

    It keeps no conversation: each call gets its session's history from Gradio, so sessions
    cannot see each other's questions.
    """

    def __init__(self, assistant, wait_s: float = 300.0):
        self.assistant = assistant
        self.wait_s = wait_s
        # Gradio's queue limits each event to one run at a time, but the browser's chat, the
        # API endpoint and the Articles tab are separate events; llama.cpp and its KV cache must
        # serve one at a time, and indexing re-reads the collection into that same model.
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def exclusive(self, waiting: Callable[[], None] | None = None):
        """Hold the model for a change to the collection: no answer is written meanwhile.

        `waiting` is called first when an answer is in progress; BusyError after `wait_s`.
        """
        if not self._lock.acquire(blocking=False):
            if waiting:
                waiting()
            if not self._lock.acquire(timeout=self.wait_s):
                raise BusyError("The assistant is still busy answering questions or adding "
                                "articles; try again in a few minutes.")
        try:
            yield
        finally:
            self._lock.release()

    def respond(self, message: str, history: list) -> Iterator[tuple[str, str]]:
        """Yield (chat message, sources panel HTML) as the answer streams in."""
        if not self._lock.acquire(timeout=self.wait_s):
            yield render.error_text("The assistant is busy with other questions or with adding "
                                    "articles; try again in a minute."), render.failed()
            return
        try:
            yield from self._answer(message, render.history_pairs(history))
        finally:
            # Also runs when Stop closes this generator, so the next question is not blocked.
            self._lock.release()

    def _answer(self, message: str, pairs) -> Iterator[tuple[str, str]]:
        stream = None
        try:
            stream = self.assistant.stream(message, pairs or None)
            shown = ""
            for item in stream:
                if isinstance(item, Answer):
                    # The checked text can differ from what streamed: show it instead.
                    yield render.chat_text(item), render.sources(item)
                else:
                    shown += item
                    yield render.streamed_text(shown), render.pending()
        except QAError as e:
            yield render.error_text(str(e)), render.failed()
        except Exception as e:  # the server log gets the traceback; the user a short sentence
            log.exception("answering %r failed", message)
            yield render.error_text(
                f"Something went wrong while answering ({type(e).__name__}). Try again; if it "
                "keeps failing, the server's log has the details."), render.failed()
        finally:
            if stream is not None:
                stream.close()  # stops llama.cpp generating when Stop is pressed
