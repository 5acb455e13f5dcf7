"""Evaluated prompt prefixes of llama.cpp, saved on disk: its KV cache and tokens after a warm-up. A new process
(a restart, the next CLI question) or a switch between databases loads one in ~0.7 s instead of evaluating the
prefix again (~45 s for the demo's 3,700 tokens on two cores). Arrays only, no pickle: loading runs no code."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from llama_cpp import Llama

KEPT = 8  # files (one per database in use, ~100 MB each at 3,700 tokens); the least recently used go
_DAMAGED = (OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile)


class SavedPrefixes:
    def __init__(self, folder: Path, identity: list[object]) -> None:
        """`identity`: what a saved state is only valid for (model file, context size, llama.cpp version)."""
        self.folder = folder
        self._identity = identity
        self._tokens: dict[Path, np.ndarray] = {}  # file -> the prompt tokens its state holds
        for path in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
            try:
                with np.load(path, allow_pickle=False) as saved:
                    self._tokens[path] = saved["input_ids"]
            except _DAMAGED:
                path.unlink(missing_ok=True)

    def path(self, tokens: list[int]) -> Path:
        key = hashlib.sha256(json.dumps([self._identity, tokens]).encode()).hexdigest()[:32]
        return self.folder / f"{key}.npz"

    def best(self, tokens: list[int]) -> tuple[Path | None, int]:
        """The saved prefix sharing the most leading tokens with `tokens`, and how many it shares."""
        query = np.asarray(tokens)  # once, not once per saved file: this runs before every completion
        shared = {path: common_prefix(saved, query) for path, saved in self._tokens.items()}
        best = max(shared, key=lambda p: shared[p], default=None)
        return best, shared.get(best, 0) if best else 0

    def save(self, llm: Llama, path: Path) -> None:
        state = llm.save_state()
        ids = state.input_ids[: state.n_tokens]
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out:
            np.savez(out, input_ids=ids, state=np.frombuffer(state.llama_state, dtype=np.uint8))
        partial.replace(path)  # a killed process never leaves half a state under the real name
        self._tokens[path] = ids.copy()
        newest_first = sorted(self._tokens, key=lambda p: p.stat().st_mtime if p.exists() else 0, reverse=True)
        for old in newest_first[KEPT:]:
            old.unlink(missing_ok=True)
            del self._tokens[old]

    def load(self, llm: Llama, path: Path) -> bool:
        """Put the saved state into `llm`; False (and the file gone) when there is none or it is damaged."""
        from llama_cpp.llama import LlamaState

        if not path.is_file():
            return False
        try:
            with np.load(path, allow_pickle=False) as saved:
                ids, blob = saved["input_ids"], saved["state"]
            input_ids = np.zeros(llm.n_ctx(), dtype=np.intc)
            input_ids[: len(ids)] = ids
            llm.load_state(LlamaState(
                input_ids=input_ids,
                scores=np.zeros((1, llm.n_vocab()), dtype=np.single),  # the last token is evaluated again anyway
                n_tokens=len(ids),
                llama_state=blob.tobytes(),
                llama_state_size=blob.size,
                seed=1234,
            ))
        except _DAMAGED:
            llm.reset()  # nothing half-loaded stays in the cache
            path.unlink(missing_ok=True)
            self._tokens.pop(path, None)
            return False
        path.touch()  # recently used: kept
        return True


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    differ = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(differ[0]) if differ.size else n
