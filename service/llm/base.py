"""What the pipeline needs from a language model, whichever server or library runs it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

TokenCallback = Callable[[str], None]


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    cached_tokens: int  # prompt tokens whose KV state was reused from the previous request
    generated_tokens: int
    seconds: float


class LLM(ABC):
    name: str

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with the model's own tokenizer (or a close estimate where none is local)."""

    @abstractmethod
    def complete(
        self,
        system: str,
        user: str,
        prefill: str = "",
        stop: list[str] | None = None,
        max_tokens: int = 256,
        on_token: TokenCallback | None = None,
    ) -> Completion:
        """Greedy (temperature 0) answer to a chat turn. `prefill` starts the assistant's answer where the
        backend allows it; the returned text excludes it."""

    def warm_up(self, system: str, user: str, prefill: str = "") -> bool:
        """Evaluate a prompt once, so that prompts starting like it are answered warm. True when a saved
        evaluation was loaded instead (a backend that keeps one on disk)."""
        self.complete(system, user, prefill, max_tokens=1)
        return False
