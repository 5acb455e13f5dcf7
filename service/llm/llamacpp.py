"""llama.cpp in-process: one model instance per process, its KV cache reused across requests that share a
prompt prefix (instructions and schema first, question last)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from service.llm.base import LLM, Completion, LLMUnavailable, TokenCallback


class LlamaCppLLM(LLM):
    def __init__(
        self, model_path: Path, n_ctx: int = 4096, n_threads: int | None = None, speculative: bool = False
    ) -> None:
        from llama_cpp import Llama  # heavy import: only when this backend is used
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

    def forget_prefix(self) -> None:
        """Drop the reusable KV state, so the next prompt is evaluated from scratch (cold-start benchmarks)."""
        with self._lock:
            self._llm.reset()

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
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        prompt = self._format(messages=messages).prompt + prefill
        tokens = self._llm.tokenize(prompt.encode(), add_bos=False, special=True)
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


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
