"""The configured generation backends: the first model, and the optional escalation model."""

from __future__ import annotations

from service.llm.base import LLM
from service.llm.model_files import packaged_model_file
from service.settings import LlamaCppConfig, LLMConfig, OllamaConfig, Settings


def build_llm(settings: Settings, config: LLMConfig | None = None) -> LLM:
    """The backend `config` describes (default: `settings.llm`); a server backend is not contacted yet."""
    config = config or settings.llm
    if isinstance(config, LlamaCppConfig):
        from service.llm.llamacpp import LlamaCppLLM

        path = config.model_path or packaged_model_file(config.model, config.model_cache)
        # one folder per settings home: both models of an escalation pair keep theirs (keyed by model file)
        state_dir = (settings.prefix_cache_dir or settings.home / "prefix-cache") if config.prefix_cache else None
        return LlamaCppLLM(path, config.n_ctx, config.n_threads, config.speculative_decoding, state_dir,
                           sequences=settings.candidates)
    if isinstance(config, OllamaConfig):
        from service.llm.ollama import OllamaLLM

        return OllamaLLM(config)
    from service.llm.openai_compat import OpenAILLM

    return OpenAILLM(config)
