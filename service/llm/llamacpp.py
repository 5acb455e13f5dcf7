"""llama.cpp in-process: one model instance per process, its KV cache reused across requests that share a
prompt prefix (instructions and schema first, question last), and a warmed-up prefix kept on disk so that the
next process (a restart, the next CLI question) loads it instead of evaluating it again."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

from service.llm.base import LLM, Completion, LLMUnavailable, TokenCallback

_STATES_KEPT = 8  # saved prefixes (one per database in use, ~100 MB each at 3,700 tokens); older ones go


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
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

        if not model_path.is_file():
            raise LLMUnavailable(f"model file not found: {model_path}")
        self.name = model_path.name
        self._llm = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads or os.cpu_count(),
            n_batch=512,
            seed=1234,  # fixed (0 would mean random); decoding is greedy anyway
            verbose=False,
            # prompt-lookup drafts are verified against the logits of every drafted position, which llama-cpp-python
            # only keeps with logits_all (n_ctx x vocabulary floats: ~3.7 GB for Qwen at 6,144 tokens)
            draft_model=LlamaPromptLookupDecoding(num_pred_tokens=4) if speculative else None,
            logits_all=speculative,
        )
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise LLMUnavailable(f"{model_path.name} carries no chat template")
        vocab = self._llm._model
        self._format = Jinja2ChatFormatter(
            template,
            eos_token=vocab.token_get_text(self._llm.token_eos()),
            bos_token=vocab.token_get_text(self._llm.token_bos()),
        )
        self._lock = threading.Lock()  # one context: requests take turns, never interleave
        self._state_dir = None if speculative else state_dir  # with logits_all a state carries n_ctx x vocab floats
        stat = model_path.stat()  # a saved state fits only this model file, context size and llama.cpp
        self._identity = [str(model_path.resolve()), stat.st_size, stat.st_mtime_ns, n_ctx, llama_cpp.__version__]

    def forget_prefix(self) -> None:
        """Drop the reusable KV state, so the next prompt is evaluated from scratch (cold-start benchmarks)."""
        with self._lock:
            self._llm.reset()

    def warm_up(self, system: str, user: str, prefill: str = "") -> bool:
        """Evaluate the prompt, or load its evaluation saved by an earlier process: ~1 s instead of ~45 s for
        the demo's 3,700-token prefix on two cores."""
        if self._state_dir is None:
            return super().warm_up(system, user, prefill)
        tokens = self._tokens(system, user, prefill)
        key = hashlib.sha256(json.dumps([self._identity, tokens]).encode()).hexdigest()[:32]
        path = self._state_dir / f"{key}.npz"
        if path.is_file() and self._load_state(path):
            return True
        super().warm_up(system, user, prefill)
        self._save_state(path)
        return False

    def _save_state(self, path: Path) -> None:
        with self._lock:
            state = self._llm.save_state()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out:  # no pickle: arrays only, so loading runs no code
            np.savez(out, input_ids=state.input_ids[: state.n_tokens],
                     state=np.frombuffer(state.llama_state, dtype=np.uint8))
        partial.replace(path)  # a killed process never leaves half a state under the real name
        newest_first = sorted(path.parent.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in newest_first[_STATES_KEPT:]:
            old.unlink(missing_ok=True)

    def _load_state(self, path: Path) -> bool:
        from llama_cpp.llama import LlamaState

        try:
            with np.load(path, allow_pickle=False) as saved:
                ids, blob = saved["input_ids"], saved["state"]
            input_ids = np.zeros(self._llm.n_ctx(), dtype=np.intc)
            input_ids[: len(ids)] = ids
            state = LlamaState(
                input_ids=input_ids,
                scores=np.zeros((1, self._llm.n_vocab()), dtype=np.single),  # logits are recomputed anyway
                n_tokens=len(ids),
                llama_state=blob.tobytes(),
                llama_state_size=blob.size,
                seed=1234,
            )
            with self._lock:
                self._llm.load_state(state)
        except (OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile):  # damaged: evaluate anew
            self.forget_prefix()
            path.unlink(missing_ok=True)
            return False
        path.touch()  # recently used: kept
        return True

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
    ) -> Completion:
        tokens = self._tokens(system, user, prefill)
        with self._lock:
            cached = _common_prefix(self._llm.input_ids[: self._llm.n_tokens].tolist(), tokens)
            started = time.perf_counter()
            pieces: list[str] = []
            generated = 0
            for chunk in self._llm.create_completion(
                tokens, max_tokens=max_tokens, temperature=0.0, stop=stop or [], stream=True
            ):
                piece = chunk["choices"][0]["text"]
                generated += 1
                pieces.append(piece)
                if on_token and piece:
                    on_token(piece)
        return Completion(
            text="".join(pieces),
            prompt_tokens=len(tokens),
            cached_tokens=cached,
            generated_tokens=generated,
            seconds=time.perf_counter() - started,
        )

    def _tokens(self, system: str, user: str, prefill: str) -> list[int]:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        prompt = self._format(messages=messages).prompt + prefill
        return self._llm.tokenize(prompt.encode(), add_bos=False, special=True)


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
