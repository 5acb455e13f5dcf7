"""Where one-token decode time goes on this machine: llama.cpp decode of 1 and 4 tokens after a ~200-token
context, on 1 and 2 threads, alone and beside a competing busy thread (what the service has around its decode:
the embedder's OpenMP threads spinning after a question's embedding, the event loop, another request).

    .venv/bin/python bench/decode_threads.py [--steps 40] [--model qwen2.5-coder-1.5b]

Prints ms per pass for each case (median over `--steps` passes at the same position, so every pass does the
same work). Competitors: `numpy` (a matrix product loop that releases the GIL: a real second core's worth of
work), `torch-embed` (the service's own embedder encoding a question, then idle: its thread pool's spin-wait).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from llama_cpp import Llama, llama_cpp

from service.llm.model_files import packaged_model_file
from service.settings import Settings

CONTEXT = "SELECT name, country, age FROM singer WHERE age > 30 ORDER BY age DESC; " * 12


@contextmanager
def competing(work: Callable[[], None] | None) -> Iterator[None]:
    stop = threading.Event()
    thread = None
    if work is not None:
        def loop() -> None:
            while not stop.is_set():
                work()
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        time.sleep(0.2)
    try:
        yield
    finally:
        stop.set()
        if thread:
            thread.join()


def passes(llm: Llama, position: int, batch: list[int], steps: int) -> float:
    """Median ms of decoding `batch` at `position` (the cache trimmed back after each pass)."""
    times = []
    for _ in range(steps):
        llm.n_tokens = position
        llm._ctx.kv_cache_seq_rm(0, position, -1)
        started = time.perf_counter()
        llm.eval(batch)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    args = parser.parse_args()
    settings = Settings()
    path = packaged_model_file(args.model, settings.llm.model_cache)
    llm = Llama(model_path=str(path), n_ctx=2048, n_batch=512, verbose=False)
    context = llm.tokenize(CONTEXT.encode())[:200]
    llm.eval(context)
    position = llm.n_tokens
    one, four = context[-1:], context[-4:]

    a = np.random.rand(256, 256)
    competitors: dict[str, Callable[[], None] | None] = {
        "none": None,
        "numpy": lambda: a @ a,  # type: ignore[dict-item]
    }
    try:
        from indexer.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder(settings.embedding_model)
        competitors["torch-embed"] = lambda: (embedder.embed(["how many singers are older than 30?"]),
                                              time.sleep(0.05))  # type: ignore[dict-item]
    except (ImportError, AttributeError, TypeError) as exc:
        print(f"torch-embed competitor skipped: {exc}")

    print(f"{'threads':>7} {'competitor':>12} {'1 token ms':>11} {'4 tokens ms':>12}")
    for threads in (1, 2):
        llama_cpp.llama_set_n_threads(llm._ctx.ctx, threads, threads)
        for name, work in competitors.items():
            with competing(work):
                t1 = passes(llm, position, one, args.steps)
                t4 = passes(llm, position, four, args.steps)
            print(f"{threads:>7} {name:>12} {t1:>11.1f} {t4:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
