"""Loading, chunking, embedding and storing articles."""
from index.build import index_paths
from index.chunk import split_article
from index.load import find_files, read_article
from index.store import Store

__all__ = ["index_paths", "split_article", "find_files", "read_article", "Store"]
