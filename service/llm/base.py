"""What the pipeline needs from a language model, whichever server or library runs it, and what each backend
states it can do (`Capabilities`), so that the pipeline asks instead of assuming llama.cpp."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class Capabilities:
    exact_token_count: bool  # count_tokens is the serving model's own tokenizer, not an estimate
    prefill: bool  # can continue a started assistant answer (the SQL fence)
    prefix_reuse: bool  # reuses the KV state of a shared prompt prefix (llama.cpp's cache, vLLM's APC)
    saved_prefixes: bool  # keeps evaluated prefixes on disk across processes
    speculative: bool  # drafts and verifies several tokens per step
    parallel_candidates: bool  # n completions of one prompt in one request
    reasoning_budget: bool  # a thinking budget applies (a reasoning model)
    context_window: int  # tokens of prompt + answer the backend serves
    logprobs: bool  # Completion.logprob_mean is filled


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    cached_tokens: int  # prompt tokens whose KV state was reused
    generated_tokens: int
    seconds: float
    logprob_mean: float | None = None  # mean log-probability of the generated tokens, where the backend gives it
    model: str = ""  # which model answered (escalation records it)
    drafted: int = 0  # speculative decoding: tokens drafted for this answer
    accepted: int = 0  # of those, tokens the model confirmed


def mean_logprob(logprobs: list[float]) -> float | None:
    """An answer's confidence: the mean log-probability of its tokens (None when the backend gave none)."""
    return sum(logprobs) / len(logprobs) if logprobs else None


class LLM(ABC):
    name: str
    capabilities: Capabilities

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with the model's own tokenizer (or its family's, loaded locally)."""

    @abstractmethod
    def complete(
        self,
        system: str,
        user: str,
        prefill: str = "",
        stop: list[str] | None = None,
        max_tokens: int = 256,
        on_token: TokenCallback | None = None,
        temperature: float = 0.0,
    ) -> Completion:
        """An answer to a chat turn (greedy at temperature 0). `prefill` starts the assistant's answer (only
        where `capabilities.prefill`); the returned text excludes it."""

    def complete_many(
        self,
        system: str,
        user: str,
        n: int,
        prefill: str = "",
        stop: list[str] | None = None,
        max_tokens: int = 256,
        temperature: float = 0.7,
        on_token: TokenCallback | None = None,
    ) -> list[Completion]:
        """`n` candidates sharing one prompt: the greedy answer first (streamed to `on_token`), then n-1 sampled
        at `temperature`. Decoded together where `capabilities.parallel_candidates`, else in turn (the shared
        prefix then comes from the cache)."""
        greedy = self.complete(system, user, prefill, stop, max_tokens, on_token)
        return [greedy, *(self.complete(system, user, prefill, stop, max_tokens, temperature=temperature)
                          for _ in range(n - 1))]

    def warm_up(self, system: str, user: str, prefill: str = "") -> bool:
        """Evaluate a prompt once, so that prompts starting like it are answered warm. True when a saved
        evaluation was loaded instead (a backend that keeps one on disk)."""
        self.complete(system, user, prefill, max_tokens=1)
        return False

    def describe(self) -> dict[str, Any]:
        """What answers, for provenance: backend kind, model, seed and the like (no network call)."""
        return {"backend": type(self).__name__, "model": self.name}

    def health(self) -> dict[str, Any]:
        """The backend's state for /readyz: `ok`, and what it measures (e.g. the draft acceptance rate)."""
        return {"ok": True, **self.describe()}
