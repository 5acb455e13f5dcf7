"""Vector stores: the interface (`base`) and its implementations beside it."""

from indexer.vectorstore.base import Hit, StoredPoint, VectorStore

__all__ = ["Hit", "StoredPoint", "VectorStore"]
