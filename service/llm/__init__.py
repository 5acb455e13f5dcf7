"""Generation backends: the interface (`base`) and its implementations beside it."""

from service.errors import LLMUnavailable
from service.llm.base import LLM, Completion

__all__ = ["LLM", "Completion", "LLMUnavailable"]
