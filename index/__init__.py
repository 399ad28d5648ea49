"""Articles in, passages out: load, chunk, embed and store them, incrementally."""
from index.build import index_paths, remove_articles
from index.chunk import split_article
from index.errors import ArticleError, ConfigError, QAError, StoreUnavailableError
from index.load import find_files, read_article
from index.store import Store, reading_order
from index.types import Article, ArticleInfo, IndexReport, Passage

__all__ = ["index_paths", "remove_articles", "split_article", "find_files", "read_article",
           "Store", "reading_order", "Article", "ArticleInfo", "IndexReport", "Passage",
           "QAError", "ConfigError", "ArticleError", "StoreUnavailableError"]
