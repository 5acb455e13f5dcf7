"""What the indexer and the retriever need from a vector store, and nothing more."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from indexer.lexical import SparseVector


@dataclass
class StoredPoint:
    id: str
    dense: np.ndarray
    sparse: SparseVector
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hit:
    id: str
    score: float
    payload: dict[str, Any]


class VectorStore(ABC):
    """Each database's documents live under an index name. An index is rebuilt as a new version that goes
    live in one step (`publish`), so a failed or killed run leaves the previous version answering."""

    @abstractmethod
    def indexes(self) -> list[str]: ...

    @abstractmethod
    def live_hashes(self, index: str) -> dict[str, str]:
        """Point id -> content hash of the live version; empty when the index does not exist."""

    @abstractmethod
    def create_version(self, index: str, dimension: int) -> str: ...

    @abstractmethod
    def copy_points(self, index: str, version: str, ids: list[str]) -> None:
        """Copy unchanged points, vectors included, from the live version into a new one."""

    @abstractmethod
    def upsert(self, target: str, points: list[StoredPoint]) -> None:
        """Write points into a version, or straight into the live index when `target` is an index name."""

    @abstractmethod
    def publish(self, index: str, version: str) -> None: ...

    @abstractmethod
    def discard(self, version: str) -> None: ...

    @abstractmethod
    def search(
        self, index: str, dense: np.ndarray, sparse: SparseVector, kind: str, limit: int, fields: list[str]
    ) -> list[Hit]:
        """Hybrid search among documents of one kind: dense and lexical candidates fused by rank. Hits carry
        only the payload `fields` (copying whole table payloads would dominate the search time)."""

    @abstractmethod
    def nearest(self, index: str, dense: np.ndarray, kind: str, limit: int, min_score: float) -> list[Hit]:
        """Dense-only neighbours with cosine similarity of at least `min_score`."""

    @abstractmethod
    def payloads(self, index: str, kind: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def retrieve(self, index: str, kind: str, ids: list[str]) -> list[dict[str, Any]]:
        """Payloads of the given points (missing ones are left out)."""

    @abstractmethod
    def close(self) -> None: ...
