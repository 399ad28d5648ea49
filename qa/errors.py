"""Errors a user can act on: every message says how to fix the problem."""
from index.errors import ArticleError, ConfigError, QAError, StoreUnavailableError


class InputError(QAError):
    """A question the product cannot use."""


class IndexMissingError(QAError):
    def __init__(self, where: str):
        super().__init__(f"No articles are indexed in {where}. Run `qa index` (seeds/) or "
                         "`qa index PATH ...` first, or add articles on the chat's Articles tab.")


class ModelMissingError(QAError):
    """A model file or package that is not installed."""


class LLMUnavailableError(QAError):
    """A hosted LLM that does not answer."""


class QAFileError(InputError):
    """A Q&A file for `qa eval` that cannot be used; the message names the file and line."""


__all__ = ["QAError", "ConfigError", "ArticleError", "StoreUnavailableError", "InputError",
           "IndexMissingError", "ModelMissingError", "LLMUnavailableError", "QAFileError"]
