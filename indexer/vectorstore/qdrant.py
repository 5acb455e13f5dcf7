"""Qdrant: embedded local mode (a folder) by default, or a server by URL. Versions are collections; the live
one is reached through an alias named after the index."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from indexer.lexical import SparseVector
from indexer.vectorstore.base import Hit, StoredPoint, VectorStore

DENSE, LEXICAL = "dense", "lexical"
_PREFIX = "ragsql__"
_BATCH = 256


class IndexMissing(LookupError):
    """The database has not been indexed (yet)."""

    def __init__(self, index: str) -> None:
        super().__init__(f"database '{index}' is not indexed yet: run `ragsql index --db {index}`")


class StoreLocked(RuntimeError):
    """Another process holds the embedded Qdrant folder."""


class QdrantStore(VectorStore):
    def __init__(self, path: Path | None = None, url: str | None = None, api_key: str | None = None) -> None:
        self._url = url
        if url:
            self.client = QdrantClient(url=url, api_key=api_key, timeout=30)
        else:
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            try:
                self.client = QdrantClient(path=str(path))
            except RuntimeError as exc:  # local mode allows one process per folder
                raise StoreLocked(
                    f"the index folder {path} is in use by another ragsql process; stop it, or point this "
                    "one at the running API (e.g. `ragsql mcp --api-url`) or at a Qdrant server"
                ) from exc

    def _alias(self, index: str) -> str:
        return _PREFIX + index

    def _live_collection(self, index: str) -> str | None:
        alias = self._alias(index)
        for a in self.client.get_aliases().aliases:
            if a.alias_name == alias:
                return a.collection_name
        return None

    def indexes(self) -> list[str]:
        return sorted(
            a.alias_name[len(_PREFIX) :]
            for a in self.client.get_aliases().aliases
            if a.alias_name.startswith(_PREFIX)
        )

    def live_hashes(self, index: str) -> dict[str, str]:
        if self._live_collection(index) is None:
            return {}
        hashes: dict[str, str] = {}
        offset = None
        while True:
            points, offset = self.client.scroll(
                self._alias(index), limit=1024, offset=offset, with_payload=["hash"], with_vectors=False
            )
            hashes.update({str(p.id): p.payload["hash"] for p in points})
            if offset is None:
                return hashes

    def create_version(self, index: str, dimension: int) -> str:
        version = f"{_PREFIX}{index}__v{time.time_ns()}"
        self.client.create_collection(
            version,
            vectors_config={DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)},
            sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        if self._url:  # local mode has no payload indexes and warns about them
            self.client.create_payload_index(version, "kind", models.PayloadSchemaType.KEYWORD)
        return version

    def copy_points(self, index: str, version: str, ids: list[str]) -> None:
        for start in range(0, len(ids), _BATCH):
            records = self.client.retrieve(
                self._alias(index), ids[start : start + _BATCH], with_payload=True, with_vectors=True
            )
            self.client.upsert(
                version,
                [models.PointStruct(id=r.id, vector=r.vector, payload=r.payload) for r in records],
                wait=True,
            )

    def upsert(self, target: str, points: list[StoredPoint]) -> None:
        name = target if target.startswith(_PREFIX) else self._alias(target)
        for start in range(0, len(points), _BATCH):
            batch = points[start : start + _BATCH]
            self.client.upsert(name, [_to_struct(p) for p in batch], wait=True)

    def publish(self, index: str, version: str) -> None:
        alias, old = self._alias(index), self._live_collection(index)
        operations: list[Any] = []
        if old:
            operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
        operations.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=version, alias_name=alias)
            )
        )
        self.client.update_collection_aliases(operations)
        if old and old != version:
            self.client.delete_collection(old)
        self._drop_orphans(index)

    def _drop_orphans(self, index: str) -> None:
        """Versions left by a killed run: neither live nor being built (a run deletes its own on failure)."""
        live = self._live_collection(index)
        for c in self.client.get_collections().collections:
            if c.name.startswith(f"{_PREFIX}{index}__v") and c.name != live:
                self.client.delete_collection(c.name)

    def discard(self, version: str) -> None:
        self.client.delete_collection(version)

    def search(self, index: str, dense: np.ndarray, sparse: SparseVector, kind: str, limit: int) -> list[Hit]:
        where = _kind(kind)
        prefetch = [models.Prefetch(query=dense.tolist(), using=DENSE, filter=where, limit=limit * 2)]
        if sparse.indices:
            prefetch.append(
                models.Prefetch(
                    query=models.SparseVector(indices=sparse.indices, values=sparse.values),
                    using=LEXICAL,
                    filter=where,
                    limit=limit * 2,
                )
            )
        try:
            response = self.client.query_points(
                self._alias(index),
                prefetch=prefetch,
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                limit=limit,
                with_payload=True,
            )
        except (ValueError, UnexpectedResponse) as exc:  # local mode and server say "not found" differently
            if self._live_collection(index) is None:
                raise IndexMissing(index) from None
            raise exc
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    def nearest(self, index: str, dense: np.ndarray, kind: str, limit: int, min_score: float) -> list[Hit]:
        response = self.client.query_points(
            self._alias(index), query=dense.tolist(), using=DENSE, query_filter=_kind(kind), limit=limit,
            score_threshold=min_score, with_payload=True,
        )
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    def payloads(self, index: str, kind: str) -> list[dict[str, Any]]:
        if self._live_collection(index) is None:
            raise IndexMissing(index)
        where = _kind(kind)
        out: list[dict[str, Any]] = []
        offset = None
        while True:
            points, offset = self.client.scroll(
                self._alias(index), scroll_filter=where, limit=1024, offset=offset, with_payload=True
            )
            out.extend(p.payload or {} for p in points)
            if offset is None:
                return out

    def retrieve(self, index: str, ids: list[str]) -> list[dict[str, Any]]:
        return [r.payload or {} for r in self.client.retrieve(self._alias(index), ids, with_payload=True)]

    def close(self) -> None:
        self.client.close()


def _kind(kind: str) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key="kind", match=models.MatchValue(value=kind))])


def _to_struct(point: StoredPoint) -> models.PointStruct:
    return models.PointStruct(
        id=point.id,
        vector={
            DENSE: point.dense.tolist(),
            LEXICAL: models.SparseVector(indices=point.sparse.indices, values=point.sparse.values),
        },
        payload=point.payload,
    )
