"""An OpenAI-compatible server through the `openai` client, with vLLM's extensions where the server has them:
`/tokenize` for exact token counts, `continue_final_message` for the SQL-fence prefill, `n` candidates in one
request, structured output by JSON schema, automatic prefix caching (a server flag) and `/metrics` for the
speculative draft acceptance rate."""

from __future__ import annotations

import json
import re
import time
from functools import lru_cache
from typing import Any

import httpx
import openai

from service.llm.base import LLM, Capabilities, Completion, TokenCallback, mean_logprob
from service.llm.remote import probe, with_retries
from service.settings import OpenAIConfig

SEED = 1234
# The answer as JSON when structured output is on: {"sql": ...}, nothing else to parse. Whitespace between JSON
# tokens is disallowed: a small model at temperature 0 otherwise pads after the string until max_tokens.
SQL_ANSWER = {
    "json": {"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"],
             "additionalProperties": False},
    "disable_any_whitespace": True,
}
# vLLM's counters of speculative decoding (v1 engine): drafted and accepted tokens, summed over engines.
_DRAFTED, _ACCEPTED = "vllm:spec_decode_num_draft_tokens_total", "vllm:spec_decode_num_accepted_tokens_total"
_THINKING = re.compile(r"<think>.*?</think>\s*", re.DOTALL)


class OpenAILLM(LLM):
    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self.name = config.model
        self.backend = f"OpenAI-compatible server {config.base_url}"
        self.root = re.sub(r"/v1/?$", "", config.base_url.rstrip("/"))  # vLLM serves /tokenize, /metrics there
        self.client = openai.OpenAI(base_url=config.base_url, api_key=config.api_key, timeout=config.timeout_s,
                                    max_retries=0)  # retries are ours: on connection errors only
        self._http = httpx.Client(timeout=config.timeout_s)
        self._count = lru_cache(maxsize=8192)(self._count_remote)
        reasoning = config.reasoning_effort is not None
        self.capabilities = Capabilities(
            exact_token_count=True,
            # a reasoning model thinks before it answers: a prefilled fence would skip the thinking
            prefill=not (config.structured_output or reasoning),
            prefix_reuse=True, saved_prefixes=False, speculative=True, parallel_candidates=True,
            reasoning_budget=reasoning, context_window=config.n_ctx, logprobs=not config.structured_output,
        )

    def _call(self, call: Any) -> Any:
        return with_retries(self.backend, self.config.retries, call, unreachable=(openai.APIConnectionError,),
                            timed_out=(openai.APITimeoutError,), refused=(openai.APIError,))

    def count_tokens(self, text: str) -> int:
        return self._count(text)

    def _count_remote(self, text: str) -> int:
        """The server's own tokenizer (vLLM's /tokenize): never an estimate that could overflow its window."""
        def call() -> int:
            response = self._http.post(f"{self.root}/tokenize",
                                       json={"model": self.name, "prompt": text, "add_special_tokens": False})
            response.raise_for_status()
            return int(response.json()["count"])
        return self._call(call)

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
        started = time.perf_counter()
        request = self._request(system, user, prefill, stop, max_tokens, temperature)

        def call() -> tuple[list[str], Any, list[float]]:
            pieces: list[str] = []
            logprobs: list[float] = []
            usage = None
            stream = self.client.chat.completions.create(**request, stream=True,
                                                         stream_options={"include_usage": True})
            for chunk in stream:
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    if choice.delta.content:
                        pieces.append(choice.delta.content)
                        if on_token and not self.config.structured_output:
                            on_token(choice.delta.content)
                    if choice.logprobs and choice.logprobs.content:
                        logprobs.extend(t.logprob for t in choice.logprobs.content)
            return pieces, usage, logprobs

        before = self.acceptance() if self.capabilities.speculative else None
        pieces, usage, logprobs = self._call(call)
        answer = self._completion("".join(pieces), usage, logprobs, time.perf_counter() - started)
        after = self.acceptance() if before else None
        if before and after:  # the server's counters moved by this answer (and by any other served meanwhile)
            answer.drafted = int(after["drafted"] - before["drafted"])
            answer.accepted = int(after["accepted"] - before["accepted"])
        return answer

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
        """The greedy answer, then n-1 sampled ones in one request (`n`): the server's prefix cache evaluates the
        prompt once and batches the answers."""
        greedy = self.complete(system, user, prefill, stop, max_tokens, on_token)
        if n == 1:
            return [greedy]
        started = time.perf_counter()
        request = self._request(system, user, prefill, stop, max_tokens, temperature)
        response = self._call(lambda: self.client.chat.completions.create(**request, n=n - 1))
        seconds = time.perf_counter() - started
        answers = [greedy]
        for choice in response.choices:
            content = choice.logprobs.content if choice.logprobs else None
            logprobs = [t.logprob for t in content] if content else []
            answers.append(self._completion(choice.message.content or "", None, logprobs, seconds))
        return answers

    def _request(self, system: str, user: str, prefill: str, stop: list[str] | None, max_tokens: int,
                 temperature: float) -> dict[str, Any]:
        c = self.config
        messages: list[dict[str, str]] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        extra: dict[str, Any] = {}
        request: dict[str, Any] = {"model": self.name, "temperature": temperature, "seed": SEED,
                                   "max_tokens": max_tokens, "logprobs": self.capabilities.logprobs}
        if prefill and self.capabilities.prefill:  # vLLM continues the assistant message instead of opening one
            messages.append({"role": "assistant", "content": prefill})
            extra |= {"add_generation_prompt": False, "continue_final_message": True}
        if c.structured_output:  # vLLM's structured_outputs (its `guided_json` is ignored)
            extra["structured_outputs"] = SQL_ANSWER
        elif stop:
            request["stop"] = stop
        if c.reasoning_effort:
            request["reasoning_effort"] = c.reasoning_effort
            request["max_tokens"] = max_tokens + c.max_thinking_tokens
        return {**request, "messages": messages, **({"extra_body": extra} if extra else {})}

    def _completion(self, text: str, usage: Any, logprobs: list[float], seconds: float) -> Completion:
        text = _THINKING.sub("", text)
        if self.config.structured_output:
            text = _sql_of(text)
        details = getattr(usage, "prompt_tokens_details", None)
        return Completion(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            cached_tokens=(details.cached_tokens or 0) if details else 0,
            generated_tokens=usage.completion_tokens if usage else 0,
            seconds=seconds,
            logprob_mean=mean_logprob(logprobs),
            model=self.name,
        )

    def acceptance(self) -> dict[str, float] | None:
        """The server's speculative decoding so far: drafted and accepted tokens and their ratio (None when the
        server exports no such counters, e.g. speculation off or not vLLM)."""
        try:
            response = self._http.get(f"{self.root}/metrics", timeout=3.0)
            response.raise_for_status()
        except httpx.HTTPError:
            return None
        drafted, accepted = _counter(response.text, _DRAFTED), _counter(response.text, _ACCEPTED)
        if drafted is None or accepted is None:
            return None
        return {"drafted": drafted, "accepted": accepted, "rate": round(accepted / drafted, 4) if drafted else 0.0}

    def describe(self) -> dict[str, Any]:
        return {"backend": "openai", "base_url": self.config.base_url, "model": self.name, "seed": SEED,
                "structured_output": self.config.structured_output}

    def health(self) -> dict[str, Any]:
        state = probe(self.backend, f"{self.root}/health")
        if state["ok"]:
            state["speculative_acceptance"] = self.acceptance()
        return {**self.describe(), **state}


def _sql_of(text: str) -> str:
    """The SQL of a structured answer, or the text as it is when it is not the JSON asked for (then the
    pipeline's validation says what is wrong with it)."""
    try:
        return str(json.loads(text)["sql"]).strip() + "\n"
    except (ValueError, KeyError, TypeError):
        return text


def _counter(metrics: str, name: str) -> float | None:
    """The sum of a Prometheus counter over its label sets, from the text exposition format."""
    values = [float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
              if line.startswith(name) and line[len(name):len(name) + 1] in ("{", " ")]
    return sum(values) if values else None
