"""Generation backends: the interface (`base`) and its implementations beside it."""

from service.llm.base import LLM, Completion, LLMUnavailable

__all__ = ["LLM", "Completion", "LLMUnavailable"]
