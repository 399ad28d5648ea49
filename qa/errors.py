"""Errors a user can act on: every message says how to fix the problem."""


class QAError(Exception):
    """Base class; the CLI and UI print the message, never a traceback."""


class ConfigError(QAError):
    pass


class InputError(QAError):
    """A question or a file the product cannot use."""


class IndexMissingError(QAError):
    def __init__(self, where: str):
        super().__init__(
            f"No articles are indexed in {where}. Run `qa index` (seeds/) or "
            "`qa index PATH ...` first."
        )


class ModelMissingError(QAError):
    pass


class LLMUnavailableError(QAError):
    pass


class StoreUnavailableError(QAError):
    pass


class QAFileError(InputError):
    """A Q&A file for `qa eval` that cannot be used; the message names the file and line."""
