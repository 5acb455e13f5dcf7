"""Greedy decoding with prompt-lookup drafts on llama.cpp's batch API: the answer's next tokens are guessed by
finding the latest n-gram that ends the text so far earlier in it (SQL copies table and column names from the
schema in the prompt), and the guess is checked in the same forward pass as the next token. On a CPU a batch of a
few tokens costs little more than one, so each accepted draft token is nearly free; the output is the greedy
output (up to the rounding of a batched pass). Only drafted positions ask for logits: no `logits_all`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from llama_cpp import llama_cpp

from service.llm.saved_prefixes import common_prefix

if TYPE_CHECKING:
    from llama_cpp import Llama


@dataclass
class DecodeStats:
    drafted: int = 0  # tokens proposed by lookup
    accepted: int = 0  # of those, what greedy decoding would have chosen too
    passes: int = 0  # forward passes after the prompt
    batch_tokens: int = 0  # tokens those passes evaluated
    logprobs: list[float] = field(default_factory=list)  # of each token yielded: the answer's confidence


def draft(history: Sequence[int], n: int, max_ngram: int = 3, min_ngram: int = 1) -> list[int]:
    """Up to `n` tokens that followed the latest earlier occurrence of the longest n-gram ending `history`."""
    size = len(history)
    for k in range(min(max_ngram, size - 1), min_ngram - 1, -1):
        tail = list(history[size - k:])
        for start in range(size - k - 1, -1, -1):  # the latest occurrence first: the closest context
            if list(history[start:start + k]) == tail:
                follow = list(history[start + k:start + k + n])
                if follow:
                    return follow
    return []


def greedy_lookup(
    llm: Llama,
    prompt: list[int],
    max_tokens: int,
    is_done: Callable[[list[int]], bool],
    draft_tokens: int = 4,
    stats: DecodeStats | None = None,
    min_ngram: int = 2,
) -> Iterator[int]:
    """Yield the greedy continuation of `prompt`, token by token, until EOS, `max_tokens` or `is_done(tokens so
    far)`. Reuses the KV cache's common prefix with the last request, as llama-cpp-python's own generate does,
    and leaves `llm.input_ids`/`n_tokens` describing the cache for the next request."""
    stats = stats or DecodeStats()
    cached = common_prefix(llm.input_ids[: llm.n_tokens], prompt)
    llm.n_tokens = min(cached, len(prompt) - 1)  # the last prompt token is evaluated again: its logits are needed
    llm.eval(prompt[llm.n_tokens:])
    logits = last_logits(llm, 1)
    history = list(prompt)
    generated: list[int] = []
    vocab = llm._model.vocab

    def ends(token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(vocab, token))

    while True:
        token = int(np.argmax(logits[-1]))
        if ends(token):
            return
        stats.logprobs.append(top_logprob(logits[-1]))
        generated.append(token)
        history.append(token)
        yield token
        if len(generated) >= max_tokens or is_done(generated):
            return
        guess = draft(history, min(draft_tokens, max_tokens - len(generated)), min_ngram=min_ngram)
        batch = [token, *guess]
        position = llm.n_tokens
        llm._batch.set_batch(batch=batch, n_past=position, logits_all=True)
        llm._ctx.decode(llm._batch)
        stats.passes += 1
        stats.batch_tokens += len(batch)
        stats.drafted += len(guess)
        rows = last_logits(llm, len(batch))
        predicted = np.argmax(rows, axis=1)
        accepted = 0
        while accepted < len(guess) and int(predicted[accepted]) == guess[accepted]:
            accepted += 1
        kept = 1 + accepted  # the token decoded plus the drafts greedy decoding agrees with
        llm.input_ids[position:position + kept] = batch[:kept]
        llm.n_tokens = position + kept
        llm._ctx.kv_cache_seq_rm(0, llm.n_tokens, -1)  # the rejected drafts leave the cache
        stats.accepted += accepted
        for i, token in enumerate(guess[:accepted]):
            if ends(token):
                return
            stats.logprobs.append(top_logprob(rows[i]))
            generated.append(token)
            history.append(token)
            yield token
            if len(generated) >= max_tokens or is_done(generated):
                return
        logits = rows[accepted:accepted + 1]


def last_logits(llm: Llama, n: int) -> np.ndarray:
    """The logits of the last `n` positions of the last pass (each one asked for)."""
    vocab = llm.n_vocab()
    return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n * vocab,)).reshape(n, vocab).copy()


def top_logprob(row: np.ndarray) -> float:
    """The log-probability of the likeliest token, the one greedy decoding picks."""
    top = float(row.max())
    return -float(np.log(np.exp(row - top, dtype=np.float64).sum()))
