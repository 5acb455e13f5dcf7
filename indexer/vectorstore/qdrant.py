"""Qdrant: embedded local mode (a folder) by default, or a server by URL.

Each document kind of an index lives in its own collection, so a search never filters on payload (local mode
evaluates filters in Python, point by point: 150 ms at 2,000 points). A version is one collection per kind;
the live version is reached through one alias per kind, and all aliases switch in a single request.

Local mode scores sparse vectors in a Python loop over every point (about a second at 20,000 columns) and
builds a result object per scored point, so there a hybrid search runs on in-memory matrices of the same stored
dense and sparse vectors, fused by the same reciprocal-rank formula Qdrant uses, and asks Qdrant only for the
payloads of the hits; a server does all of it itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse
from qdrant_client.hybrid.fusion import reciprocal_rank_fusion
from scipy import sparse as sp

from indexer.errors import IndexMissing, StoreLocked
from indexer.lexical import SparseVector
from indexer.vectorstore.base import Hit, StoredPoint, VectorStore

DENSE, LEXICAL = "dense", "lexical"
KINDS = ("database", "table", "column", "example")
_PREFIX = "ragsql__"
_BATCH = 512


class QdrantStore(VectorStore):
    def __init__(self, path: Path | None = None, url: str | None = None, api_key: str | None = None) -> None:
        self._url = url
        self._local: dict[str, _LocalVectors] = {}  # local mode: collection name -> its vectors as matrices
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

    # Names: alias `ragsql__<index>__<kind>` -> collection `ragsql__<index>__v<ns>__<kind>`.
    @staticmethod
    def _alias(index: str, kind: str) -> str:
        return f"{_PREFIX}{index}__{kind}"

    def _aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def _live_version(self, index: str) -> str | None:
        collection = self._aliases().get(self._alias(index, "table"))
        return collection.rsplit("__", 1)[0] if collection else None

    def indexes(self) -> list[str]:
        suffix = "__table"
        return sorted(a[len(_PREFIX) : -len(suffix)] for a in self._aliases() if a.endswith(suffix))

    def _scroll(self, name: str, **options: Any) -> list[models.Record]:
        records: list[models.Record] = []
        offset = None
        while True:
            batch, offset = self.client.scroll(name, limit=1024, offset=offset, **options)
            records.extend(batch)
            if offset is None:
                return records

    def live_hashes(self, index: str) -> dict[str, str]:
        if self._live_version(index) is None:
            return {}
        return {
            str(r.id): (r.payload or {})["hash"]
            for kind in KINDS
            for r in self._scroll(self._alias(index, kind), with_payload=["hash"], with_vectors=False)
        }

    def create_version(self, index: str, dimension: int) -> str:
        version = f"{_PREFIX}{index}__v{time.time_ns()}"
        for kind in KINDS:
            self.client.create_collection(
                f"{version}__{kind}",
                vectors_config={DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)},
                sparse_vectors_config={LEXICAL: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
        return version

    def copy_points(self, index: str, version: str, ids: list[str]) -> None:
        for kind in KINDS:
            for start in range(0, len(ids), _BATCH):
                records = self.client.retrieve(
                    self._alias(index, kind), ids[start : start + _BATCH], with_payload=True, with_vectors=True
                )
                if records:
                    self.client.upsert(
                        f"{version}__{kind}",
                        [models.PointStruct(id=r.id, vector=r.vector, payload=r.payload) for r in records],
                        wait=True,
                    )

    def upsert(self, target: str, points: list[StoredPoint]) -> None:
        for kind in KINDS:
            of_kind = [_to_struct(p) for p in points if p.payload["kind"] == kind]
            name = f"{target}__{kind}" if target.startswith(_PREFIX) else self._alias(target, kind)
            self._local.pop(self._aliases().get(name, name), None)
            for start in range(0, len(of_kind), _BATCH):
                self.client.upsert(name, of_kind[start : start + _BATCH], wait=True)

    def publish(self, index: str, version: str) -> None:
        old = self._live_version(index)
        operations: list[Any] = []
        for kind in KINDS:
            alias = self._alias(index, kind)
            if old:
                operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
            operations.append(
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=f"{version}__{kind}", alias_name=alias)
                )
            )
        self.client.update_collection_aliases(operations)
        self._drop_versions(index, keep=version)

    def _drop_versions(self, index: str, keep: str) -> None:
        """The replaced version, and any left by a killed run (a failing run discards its own)."""
        for c in self.client.get_collections().collections:
            if c.name.startswith(f"{_PREFIX}{index}__v") and not c.name.startswith(f"{keep}__"):
                self.client.delete_collection(c.name)

    def discard(self, version: str) -> None:
        for kind in KINDS:
            self.client.delete_collection(f"{version}__{kind}")

    def _query(self, index: str, kind: str, **query: Any) -> list[Hit]:
        query.setdefault("with_payload", True)
        try:
            response = self.client.query_points(self._alias(index, kind), **query)
        except (ValueError, UnexpectedResponse) as exc:  # local mode and server say "not found" differently
            if self._live_version(index) is None:
                raise IndexMissing(index) from None
            raise exc
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    def search(
        self, index: str, dense: np.ndarray, sparse: SparseVector, kind: str, limit: int, fields: list[str]
    ) -> list[Hit]:
        if self._url is None:
            return self._search_local(index, dense, sparse, kind, limit, fields)
        prefetch = [models.Prefetch(query=dense.tolist(), using=DENSE, limit=limit * 2)]
        if sparse.indices:
            lexical = models.SparseVector(indices=sparse.indices, values=sparse.values)
            prefetch.append(models.Prefetch(query=lexical, using=LEXICAL, limit=limit * 2))
        return self._query(index, kind, prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.RRF),
                           limit=limit, with_payload=fields)

    def _search_local(
        self, index: str, dense: np.ndarray, sparse: SparseVector, kind: str, limit: int, fields: list[str]
    ) -> list[Hit]:
        alias = self._alias(index, kind)
        collection = self._aliases().get(alias)
        if collection is None:
            raise IndexMissing(index)
        if collection not in self._local:
            records = self._scroll(alias, with_payload=False, with_vectors=True)
            self._local[collection] = _LocalVectors(records)
        vectors = self._local[collection]
        by_meaning, by_words = vectors.top_dense(dense, limit * 2), vectors.top_lexical(sparse, limit * 2)
        ids = list(dict.fromkeys(i for i, _ in by_meaning + by_words))
        payloads = {str(r.id): r.payload for r in self.client.retrieve(alias, ids, with_payload=fields)}
        fused = reciprocal_rank_fusion(
            [[models.ScoredPoint(id=i, version=0, score=score, payload=payloads.get(i)) for i, score in ranking]
             for ranking in (by_meaning, by_words)],
            limit=limit,
        )
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in fused]

    def nearest(self, index: str, dense: np.ndarray, kind: str, limit: int, min_score: float) -> list[Hit]:
        return self._query(index, kind, query=dense.tolist(), using=DENSE, limit=limit, score_threshold=min_score)

    def payloads(self, index: str, kind: str) -> list[dict[str, Any]]:
        if self._live_version(index) is None:
            raise IndexMissing(index)
        return [r.payload or {} for r in self._scroll(self._alias(index, kind), with_payload=True)]

    def retrieve(self, index: str, kind: str, ids: list[str]) -> list[dict[str, Any]]:
        return [r.payload or {} for r in self.client.retrieve(self._alias(index, kind), ids, with_payload=True)]

    def close(self) -> None:
        self.client.close()


class _LocalVectors:
    """One collection's vectors as matrices: dense rows scored by cosine (the stored vectors are normalised),
    sparse ones as a CSR matrix scored BM25-style with Qdrant's own IDF formula."""

    def __init__(self, records: list[models.Record]) -> None:
        self.ids = [str(r.id) for r in records]
        named = [r.vector if isinstance(r.vector, dict) else {} for r in records]
        self.dense = np.array([v[DENSE] for v in named], dtype=np.float32)
        vectors = [v.get(LEXICAL) for v in named]
        terms = sorted({i for v in vectors if isinstance(v, models.SparseVector) for i in v.indices})
        self.column = {term: j for j, term in enumerate(terms)}
        rows, cols, data = [], [], []
        for row, vector in enumerate(vectors):
            for term, weight in zip(vector.indices, vector.values, strict=True) if vector else ():
                rows.append(row)
                cols.append(self.column[term])
                data.append(weight)
        self.matrix = sp.csc_matrix((data, (rows, cols)), shape=(len(self.ids), len(terms)), dtype=np.float32)
        df = np.diff(self.matrix.indptr)
        n = len(self.ids)
        self.idf = np.log((n - df + 0.5) / (df + 0.5) + 1).astype(np.float32)

    def top_dense(self, query: np.ndarray, limit: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        return self._best(self.dense @ (query / (np.linalg.norm(query) or 1.0)).astype(np.float32), limit)

    def top_lexical(self, query: SparseVector, limit: int) -> list[tuple[str, float]]:
        cols = [self.column[t] for t in query.indices if t in self.column]
        if not cols:
            return []
        weights = np.array([self.idf[c] for c in cols], dtype=np.float32)
        scores = np.asarray(self.matrix[:, cols] @ weights).ravel()
        return [(i, score) for i, score in self._best(scores, limit) if score > 0]

    def _best(self, scores: np.ndarray, limit: int) -> list[tuple[str, float]]:
        best = np.argpartition(-scores, limit)[:limit] if len(scores) > limit else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in best]


def _to_struct(point: StoredPoint) -> models.PointStruct:
    return models.PointStruct(
        id=point.id,
        vector={
            DENSE: point.dense.tolist(),
            LEXICAL: models.SparseVector(indices=point.sparse.indices, values=point.sparse.values),
        },
        payload=point.payload,
    )
