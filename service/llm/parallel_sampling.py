"""Several answers to one prompt, decoded together on llama.cpp's batch API: the prompt is evaluated once (as
sequence 0, reusing the cache's common prefix), its KV cells are shared with sequences 1..n-1 (a unified cache
shares cells, it does not copy them), and each step decodes the next token of every unfinished sequence in one
batch, which on a CPU costs little more than a single token. Sequence 0 is the greedy answer, the others are
sampled (temperature, top-k, top-p) from a generator seeded by the prompt (a rerun may still differ where batched
arithmetic rounds differently, e.g. with more of the prompt in the cache).
The context must have been created with `n_seq_max >= n` and a unified KV cache."""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from llama_cpp import llama_cpp

from service.llm.base import TokenCallback
from service.llm.lookup_decoding import last_logits, top_logprob
from service.llm.saved_prefixes import common_prefix

if TYPE_CHECKING:
    from llama_cpp import Llama

TOP_K = 40
TOP_P = 0.95


class TextStream:
    """Tokens to text for one answer: UTF-8 pieces joined, cut at the first stop string, and passed on to
    `on_token` except for a tail that may still turn out to begin a stop string."""

    def __init__(self, llm: Llama, stop: Sequence[str], on_token: TokenCallback | None = None) -> None:
        self._llm = llm
        self._stop = list(stop)
        self._on_token = on_token
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._emitted = 0
        self.text = ""
        self.stopped = False

    def add(self, token: int) -> None:
        """Append a token's text; `stopped` once a stop string appears (the text then ends before it)."""
        self.text += self._decoder.decode(self._llm.detokenize([token]))
        cut = min((self.text.find(s) for s in self._stop if s in self.text), default=-1)
        if cut >= 0:
            self.text, self.stopped = self.text[:cut], True
        self._emit(len(self.text) if self.stopped else len(self.text) - self._held_back())

    def close(self) -> None:
        self._emit(len(self.text))

    def _emit(self, upto: int) -> None:
        if self._on_token and upto > self._emitted:
            self._on_token(self.text[self._emitted:upto])
            self._emitted = upto

    def _held_back(self) -> int:
        """How many characters at the end of the text could begin a stop string."""
        return max((k for s in self._stop for k in range(1, len(s)) if self.text.endswith(s[:k])), default=0)


@dataclass
class Answer:
    stream: TextStream
    logprobs: list[float] = field(default_factory=list)  # of each chosen token under the model
    generated: int = 0
    done: bool = False


def decode_together(
    llm: Llama,
    prompt: list[int],
    n: int,
    max_tokens: int,
    stop: Sequence[str],
    temperature: float,
    on_token: TokenCallback | None = None,
) -> list[Answer]:
    """`n` answers to `prompt`: the greedy one first (streamed to `on_token`), then n-1 sampled ones. Leaves the
    cache holding the prompt (but its last token) in sequence 0, and `llm.input_ids`/`n_tokens` describing it."""
    cached = common_prefix(llm.input_ids[: llm.n_tokens], prompt)
    llm.n_tokens = min(cached, len(prompt) - 1)  # the last prompt token is evaluated again: its logits are needed
    llm.eval(prompt[llm.n_tokens:])
    for seq in range(1, n):
        llm._ctx.kv_cache_seq_rm(seq, -1, -1)
        llm._ctx.kv_cache_seq_cp(0, seq, -1, -1)
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(np.asarray(prompt).tobytes()).digest()[:8], "little"))
    answers = [Answer(TextStream(llm, stop, on_token if seq == 0 else None)) for seq in range(n)]
    vocab = llm._model.vocab
    rows = np.repeat(last_logits(llm, 1), n, axis=0)  # every sequence starts from the prompt's last logits
    active = list(range(n))
    position = len(prompt)
    batch = llm._batch.batch
    try:
        while active:
            chosen: list[tuple[int, int]] = []
            for row, seq in zip(rows, active, strict=True):
                token = int(np.argmax(row)) if seq == 0 or temperature <= 0 else _sample(row, temperature, rng)
                answer = answers[seq]
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    answer.done = True
                    continue
                answer.logprobs.append(_logprob(row, token))
                answer.generated += 1
                answer.stream.add(token)
                answer.done = answer.stream.stopped or answer.generated >= max_tokens
                if not answer.done:
                    chosen.append((seq, token))
            active = [seq for seq, _ in chosen]
            if not active:
                break
            batch.n_tokens = len(chosen)
            for i, (seq, token) in enumerate(chosen):
                batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, position, 1, True
                batch.seq_id[i][0] = seq
            llm._ctx.decode(llm._batch)
            rows = last_logits(llm, len(chosen))
            position += 1
    finally:
        for seq in range(1, n):
            llm._ctx.kv_cache_seq_rm(seq, -1, -1)
        # the prompt less its last token: the next request evaluates that again for fresh logits (llama-cpp-python
        # samples at once from the current logits when the cache holds exactly its prompt)
        llm.n_tokens = len(prompt) - 1
        llm._ctx.kv_cache_seq_rm(0, llm.n_tokens, -1)
    for answer in answers:
        answer.stream.close()
    return answers


def _sample(row: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """A token from the top-k, top-p part of the distribution at `temperature`."""
    top = np.argpartition(row, -TOP_K)[-TOP_K:]
    top = top[np.argsort(row[top])[::-1]]
    weights = np.exp((row[top] - row[top[0]]) / temperature, dtype=np.float64)
    weights /= weights.sum()
    keep = int(np.searchsorted(np.cumsum(weights), TOP_P)) + 1
    weights = weights[:keep] / weights[:keep].sum()
    return int(top[rng.choice(keep, p=weights)])


def _logprob(row: np.ndarray, token: int) -> float:
    """The log-probability of `token` under the model (at temperature 1): the answer's confidence."""
    return float(row[token]) - float(row.max()) + top_logprob(row)
