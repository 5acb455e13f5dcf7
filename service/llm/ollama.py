"""An Ollama server through the official `ollama` client. Ollama has no tokenizer endpoint and truncates a prompt
longer than `num_ctx` without an error, so the prompt is templated and counted here, with the same model family's
GGUF vocabulary and chat template (`ragsql model ollama-import` serves ragsql's own GGUF, so they are the model's
own), and sent raw (the prefilled SQL fence included) with `num_ctx` set from that count."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import ollama

from service.errors import BadRequest
from service.llm.base import LLM, Capabilities, Completion, TokenCallback, mean_logprob
from service.llm.model_files import packaged_model_file
from service.llm.remote import probe, with_retries
from service.llm.template import ChatTemplate, vocabulary
from service.settings import OllamaConfig

# num_ctx is rounded up to a multiple of this: Ollama reloads the model whenever num_ctx changes, so a window
# sized exactly per prompt would reload it on nearly every question.
CTX_STEP = 1024
# Ollama's form of the Qwen (ChatML) chat template, for chats through Ollama itself; ragsql sends raw prompts.
OLLAMA_TEMPLATE = """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ .Response }}<|im_end|>
"""
STOP_TOKENS = ["<|im_start|>", "<|im_end|>"]


class OllamaLLM(LLM):
    def __init__(self, config: OllamaConfig, template: ChatTemplate | None = None) -> None:
        self.config = config
        self.name = config.model
        self.backend = f"Ollama at {config.host}"
        self.client = ollama.Client(host=config.host, timeout=config.timeout_s)
        self.template = template or vocabulary(
            config.tokenizer_path or packaged_model_file(config.tokenizer, config.model_cache))
        reasoning = config.think is not None
        self.capabilities = Capabilities(
            exact_token_count=True,
            prefill=not reasoning,  # a thinking model answers through its own template, after its thoughts
            prefix_reuse=True,  # Ollama keeps the KV cache of the last prompt per loaded model
            saved_prefixes=False, speculative=False, parallel_candidates=False, reasoning_budget=reasoning,
            context_window=config.n_ctx, logprobs=True,
        )

    def count_tokens(self, text: str) -> int:
        return len(self.template.tokens(text))

    def num_ctx(self, prompt_tokens: int, max_tokens: int) -> int:
        """The window a request needs (prompt and answer), rounded up; refused beyond the configured window
        rather than truncated silently by the server."""
        needed = prompt_tokens + max_tokens
        if needed > self.config.n_ctx:
            raise BadRequest(f"the prompt ({prompt_tokens} tokens) and answer ({max_tokens}) exceed the model's "
                             f"window of {self.config.n_ctx} tokens")
        return min(-(-needed // CTX_STEP) * CTX_STEP, self.config.n_ctx)

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
        c = self.config
        prompt = self.template.render(system, user, prefill)
        prompt_tokens = self.count_tokens(prompt)
        options = {"temperature": temperature, "seed": c.seed, "num_predict": max_tokens,
                   "num_ctx": self.num_ctx(prompt_tokens, max_tokens), "stop": [*(stop or []), *STOP_TOKENS]}
        if c.think is None:
            request: dict[str, Any] = {"prompt": prompt, "raw": True}
        else:  # the server's template opens the thinking; the prompt is the question alone
            request = {"prompt": user, "system": system, "think": c.think}
        started = time.perf_counter()

        def call() -> tuple[list[str], Any, list[float]]:
            pieces: list[str] = []
            logprobs: list[float] = []
            last = None
            for chunk in self.client.generate(model=c.model, stream=True, options=options, keep_alive=c.keep_alive,
                                              logprobs=True, **request):
                if chunk.response:
                    pieces.append(chunk.response)
                    if on_token:
                        on_token(chunk.response)
                logprobs.extend(p.logprob for p in chunk.logprobs or [])
                last = chunk
            return pieces, last, logprobs

        pieces, last, logprobs = with_retries(self.backend, c.retries, call, refused=(ollama.ResponseError,))
        evaluated = (last.prompt_eval_count or 0) if last else 0
        return Completion(
            text="".join(pieces),
            prompt_tokens=prompt_tokens,
            cached_tokens=max(prompt_tokens - evaluated, 0),  # Ollama evaluates only what its cache lacks
            generated_tokens=(last.eval_count or 0) if last else 0,
            seconds=time.perf_counter() - started,
            logprob_mean=mean_logprob(logprobs),
            model=self.name,
        )

    def describe(self) -> dict[str, Any]:
        return {"backend": "ollama", "host": self.config.host, "model": self.name, "seed": self.config.seed,
                "keep_alive": self.config.keep_alive}

    def health(self) -> dict[str, Any]:
        return {**self.describe(), **probe(self.backend, f"{self.config.host.rstrip('/')}/api/version")}


def modelfile(gguf: Path) -> str:
    """The Modelfile of ragsql's model in Ollama: the same GGUF, the Qwen chat template, greedy decoding."""
    stops = "".join(f'PARAMETER stop "{s}"\n' for s in STOP_TOKENS)
    return f'FROM {gguf}\nTEMPLATE """{OLLAMA_TEMPLATE}"""\n{stops}PARAMETER temperature 0\n'


def import_model(host: str, name: str, gguf: Path, timeout_s: float = 600) -> None:
    """Create `name` in the Ollama server at `host` from the GGUF: uploaded as a blob (the server need not see
    ragsql's files), with the template and parameters of `modelfile`."""
    client = ollama.Client(host=host, timeout=timeout_s)

    def create() -> None:
        digest = client.create_blob(gguf)
        client.create(model=name, files={gguf.name: digest}, template=OLLAMA_TEMPLATE,
                      parameters={"stop": STOP_TOKENS, "temperature": 0})
    with_retries(f"Ollama at {host}", 2, create, refused=(ollama.ResponseError,))
