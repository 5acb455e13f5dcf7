"""llama.cpp in-process: one model instance per process, its KV cache reused across requests that share a
prompt prefix (instructions and schema first, question last), and a warmed-up prefix kept on disk so that the
next process (a restart, the next CLI question) loads it instead of evaluating it again."""

from __future__ import annotations

import codecs
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from service.errors import LLMUnavailable
from service.llm.base import LLM, Capabilities, Completion, TokenCallback
from service.llm.lookup_decoding import DecodeStats, greedy_lookup, top_logprob
from service.llm.saved_prefixes import SavedPrefixes, common_prefix
from service.llm.template import ChatTemplate

# Load a saved prefix instead of evaluating when it holds this many more of the prompt's tokens than the cache
# does: ~3 s of evaluation against ~0.7 s to load the largest state.
_WORTH_LOADING = 256
_SEED = 1234  # fixed (0 would mean random); decoding is greedy anyway


class _LogprobRecorder:
    """A logits processor that changes nothing and records the log-probability of the likeliest token, which is
    the one greedy decoding picks: the answer's confidence, without llama.cpp's logits_all (n_ctx x vocabulary)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def __call__(self, input_ids: Any, scores: np.ndarray) -> np.ndarray:
        self.values.append(top_logprob(scores))
        return scores

    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None


class LlamaCppLLM(LLM):
    def __init__(
        self,
        model_path: Path,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        speculative: bool = False,
        state_dir: Path | None = None,
    ) -> None:
        import llama_cpp  # heavy import: only when this backend is used
        from llama_cpp import Llama

        if not model_path.is_file():
            raise LLMUnavailable(f"model file not found: {model_path}")
        self.name = model_path.name
        self._llm = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads or os.cpu_count(),
            n_batch=512,
            seed=_SEED,
            verbose=False,
        )
        self._template = ChatTemplate(self._llm)
        self.acceptance = (0, 0)  # drafted tokens accepted, drafted (prompt-lookup decoding)
        self._lock = threading.Lock()  # one context: requests take turns, never interleave
        stat = model_path.stat()  # a saved state fits only this model file, context size and llama.cpp
        identity = [str(model_path.resolve()), stat.st_size, stat.st_mtime_ns, n_ctx, llama_cpp.__version__]
        self._saved = SavedPrefixes(state_dir, identity) if state_dir else None
        self.capabilities = Capabilities(
            exact_token_count=True, prefill=True, prefix_reuse=True, saved_prefixes=self._saved is not None,
            speculative=speculative, parallel_candidates=False, reasoning_budget=False, context_window=n_ctx,
            logprobs=True,
        )

    def describe(self) -> dict[str, Any]:
        return {"backend": "llamacpp", "model": self.name, "seed": _SEED,
                "speculative": "prompt-lookup" if self.capabilities.speculative else None,
                "draft_acceptance": round(self.acceptance[0] / self.acceptance[1], 3) if self.acceptance[1] else None}

    def forget_prefix(self) -> None:
        """Drop the reusable KV state, so the next prompt is evaluated from scratch (cold-start benchmarks)."""
        with self._lock:
            self._llm.reset()

    def warm_up(self, system: str, user: str, prefill: str = "") -> bool:
        """Evaluate the prompt and save its state, or load the state an earlier process saved."""
        if self._saved is None:
            return super().warm_up(system, user, prefill)
        path = self._saved.path(self._tokens(system, user, prefill))
        with self._lock:
            if self._saved.load(self._llm, path):
                return True
        super().warm_up(system, user, prefill)
        with self._lock:
            self._saved.save(self._llm, path)
        return False

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=True))

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
        tokens = self._tokens(system, user, prefill)
        with self._lock:
            cached = common_prefix(self._llm.input_ids[: self._llm.n_tokens], tokens)
            if self._saved:  # e.g. another database's prefix is in the cache: load this one's if it was saved
                path, shared = self._saved.best(tokens)
                if path and shared > cached + _WORTH_LOADING and self._saved.load(self._llm, path):
                    cached = common_prefix(self._llm.input_ids[: self._llm.n_tokens], tokens)
            started = time.perf_counter()
            if self.capabilities.speculative and temperature == 0:
                text, generated, logprob = self._lookup_decode(tokens, stop or [], max_tokens, on_token)
            else:
                text, generated, logprob = self._sample(tokens, stop or [], max_tokens, on_token, temperature)
        return Completion(
            text=text,
            prompt_tokens=len(tokens),
            cached_tokens=cached,
            generated_tokens=generated,
            seconds=time.perf_counter() - started,
            logprob_mean=logprob,
            model=self.name,
        )

    def _sample(self, tokens: list[int], stop: list[str], max_tokens: int, on_token: TokenCallback | None,
                temperature: float) -> tuple[str, int, float | None]:
        """llama-cpp-python's own generation: one token per forward pass."""
        pieces: list[str] = []
        confidence = _LogprobRecorder()
        for chunk in self._llm.create_completion(
            tokens, max_tokens=max_tokens, temperature=temperature, stop=stop, stream=True,
            logits_processor=[confidence],  # type: ignore[list-item]
        ):
            piece = chunk["choices"][0]["text"]
            pieces.append(piece)
            if on_token and piece:
                on_token(piece)
        return "".join(pieces), len(pieces), confidence.mean()

    def _lookup_decode(self, tokens: list[int], stop: list[str], max_tokens: int,
                       on_token: TokenCallback | None) -> tuple[str, int, float | None]:
        """Greedy, with prompt-lookup drafts checked in the same pass (service/llm/lookup_decoding.py). Text that
        may be the start of a stop string is held back from `on_token` until it is known not to be."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text, count, emitted = "", 0, 0
        stats = DecodeStats()
        for token in greedy_lookup(self._llm, tokens, max_tokens, lambda _: False, stats=stats):
            count += 1
            text += decoder.decode(self._llm.detokenize([token]))
            cut = min((text.find(s) for s in stop if s in text), default=-1)
            if cut >= 0:
                text = text[:cut]
            safe = len(text) if cut >= 0 else len(text) - _held_back(text, stop)
            if on_token and safe > emitted:
                on_token(text[emitted:safe])
                emitted = safe
            if cut >= 0:
                break
        if on_token and len(text) > emitted:
            on_token(text[emitted:])
        self.acceptance = (self.acceptance[0] + stats.accepted, self.acceptance[1] + stats.drafted)
        mean = sum(stats.logprobs) / len(stats.logprobs) if stats.logprobs else None
        return text, count, mean

    def _tokens(self, system: str, user: str, prefill: str) -> list[int]:
        return self._template.tokens(self._template.render(system, user, prefill))


def _held_back(text: str, stops: list[str]) -> int:
    """How many characters at the end of `text` could begin a stop string."""
    return max((k for s in stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
