"""Errors a user can act on: every message says how to fix the problem."""


class QAError(Exception):
    """Base class of every error the product raises on purpose; the CLI and UI show the message,
    never a traceback."""


class ConfigError(QAError):
    """A setting that cannot be used."""


class ArticleError(QAError):
    """A file that cannot be read as an article."""


class StoreUnavailableError(QAError):
    """The index cannot be opened or written."""
