"""llama.cpp in-process: one model instance per process, its KV cache reused across requests that share a
prompt prefix (instructions and schema first, question last), and a warmed-up prefix kept on disk so that the
next process (a restart, the next CLI question) loads it instead of evaluating it again."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from service.errors import LLMUnavailable
from service.llm.base import LLM, Capabilities, Completion, TokenCallback, mean_logprob
from service.llm.lookup_decoding import DecodeStats, greedy_lookup, top_logprob
from service.llm.parallel_sampling import TextStream, decode_together
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
        return mean_logprob(self.values)


class LlamaCppLLM(LLM):
    def __init__(
        self,
        model_path: Path,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        speculative: bool = False,
        state_dir: Path | None = None,
        sequences: int = 1,
    ) -> None:
        """`sequences`: answers decoded together by `complete_many` (1: one at a time)."""
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
        if sequences > 1:
            self._share_cache_between(sequences)
        self.sequences = sequences
        self._template = ChatTemplate(self._llm)
        self.acceptance = (0, 0)  # drafted tokens accepted, drafted (prompt-lookup decoding)
        self._lock = threading.Lock()  # one context: requests take turns, never interleave
        stat = model_path.stat()  # a saved state fits only this model file, context size and llama.cpp
        identity = [str(model_path.resolve()), stat.st_size, stat.st_mtime_ns, n_ctx, llama_cpp.__version__]
        self._saved = SavedPrefixes(state_dir, identity) if state_dir else None
        self.capabilities = Capabilities(
            exact_token_count=True, prefill=True, prefix_reuse=True, saved_prefixes=self._saved is not None,
            speculative=speculative, parallel_candidates=sequences > 1, reasoning_budget=False, context_window=n_ctx,
            logprobs=True,
        )

    def _share_cache_between(self, sequences: int) -> None:
        """Recreate the context for `sequences` sequences in one unified KV cache (llama-cpp-python's Llama takes
        no `n_seq_max`): the candidates' shared prompt then occupies its cells once."""
        from llama_cpp import _internals

        params = self._llm.context_params
        params.n_seq_max, params.kv_unified = sequences, True
        self._llm._ctx.close()
        self._llm._ctx = self._llm._stack.enter_context(contextlib.closing(
            _internals.LlamaContext(model=self._llm._model, params=params, verbose=False)))

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
            cached = self._reuse_prefix(tokens)
            started = time.perf_counter()
            stats = DecodeStats()
            if self.capabilities.speculative and temperature == 0:
                text, generated, logprob = self._lookup_decode(tokens, stop or [], max_tokens, on_token, stats)
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
            drafted=stats.drafted,
            accepted=stats.accepted,
        )

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """How many leading prompt tokens the cache holds, after loading a saved prefix where one holds many more
        (e.g. another database's prefix is in the cache). Called with the lock held."""
        cached = common_prefix(self._llm.input_ids[: self._llm.n_tokens], tokens)
        if self._saved:
            path, shared = self._saved.best(tokens)
            if path and shared > cached + _WORTH_LOADING and self._saved.load(self._llm, path):
                cached = common_prefix(self._llm.input_ids[: self._llm.n_tokens], tokens)
        return cached

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
        if n > self.sequences:
            return super().complete_many(system, user, n, prefill, stop, max_tokens, temperature, on_token)
        tokens = self._tokens(system, user, prefill)
        with self._lock:
            cached = self._reuse_prefix(tokens)
            started = time.perf_counter()
            answers = decode_together(self._llm, tokens, n, max_tokens, stop or [], temperature, on_token)
        seconds = time.perf_counter() - started
        return [
            Completion(text=a.stream.text, prompt_tokens=len(tokens) if i == 0 else 0,
                       cached_tokens=cached if i == 0 else 0, generated_tokens=a.generated, seconds=seconds,
                       logprob_mean=mean_logprob(a.logprobs), model=self.name)
            for i, a in enumerate(answers)
        ]

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

    def _lookup_decode(self, tokens: list[int], stop: list[str], max_tokens: int, on_token: TokenCallback | None,
                       stats: DecodeStats) -> tuple[str, int, float | None]:
        """Greedy, with prompt-lookup drafts checked in the same pass (service/llm/lookup_decoding.py). Text that
        may be the start of a stop string is held back from `on_token` until it is known not to be."""
        stream = TextStream(self._llm, stop, on_token)
        count = 0
        for token in greedy_lookup(self._llm, tokens, max_tokens, lambda _: False, stats=stats):
            count += 1
            stream.add(token)
            if stream.stopped:
                break
        stream.close()
        self.acceptance = (self.acceptance[0] + stats.accepted, self.acceptance[1] + stats.drafted)
        return stream.text, count, mean_logprob(stats.logprobs)

    def _tokens(self, system: str, user: str, prefill: str) -> list[int]:
        return self._template.tokens(self._template.render(system, user, prefill))

