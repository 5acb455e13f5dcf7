"""Verified examples from users, kept durably beside the index (one JSON line per example)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from indexer.schema_docs import Example


class FeedbackStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    def _file(self, db_id: str) -> Path:
        return self.folder / f"{db_id}.jsonl"

    def add(self, db_id: str, example: Example) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock, self._file(db_id).open("a", encoding="utf-8") as f:
            f.write(json.dumps(example.model_dump()) + "\n")
            f.flush()
            os.fsync(f.fileno())  # a stored example survives a crash right after the reply

    def examples(self, db_id: str) -> list[Example]:
        path = self._file(db_id)
        if not path.exists():
            return []
        latest: dict[str, Example] = {}  # a later correction of the same question wins
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                example = Example.model_validate_json(line)
                latest[example.question.strip().lower()] = example
        return list(latest.values())
