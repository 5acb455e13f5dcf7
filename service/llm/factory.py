"""The configured generation backend."""

from __future__ import annotations

from service.llm.base import LLM
from service.llm.model_files import packaged_model_file
from service.settings import Settings


def build_llm(settings: Settings) -> LLM:
    from service.llm.llamacpp import LlamaCppLLM

    path = settings.model_path or packaged_model_file(settings.model, settings.model_cache)
    state_dir = settings.home / "prefix-cache" if settings.prefix_cache else None
    return LlamaCppLLM(path, settings.n_ctx, settings.n_threads, settings.speculative_decoding, state_dir)
