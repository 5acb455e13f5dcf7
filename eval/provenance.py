"""What a run's numbers depend on besides its configuration: the code's commit and the model's exact file."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

from eval.sets import REPO
from service.llm.model_files import PACKAGED_MODELS
from service.settings import LlamaCppConfig, LLMConfig, OllamaConfig


def git_state(repo: Path = REPO) -> dict[str, Any]:
    """The commit, and whether the working tree differed from it (then the commit alone does not say)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def model_identity(config: LLMConfig) -> dict[str, Any]:
    """The model's file and sha256 for llama.cpp (the packaged model's is known; any other GGUF is hashed once
    per run); a server's model by its name there (the server alone knows its file)."""
    if isinstance(config, OllamaConfig):
        return {"backend": "ollama", "name": config.model, "host": config.host}
    if not isinstance(config, LlamaCppConfig):
        return {"backend": "openai", "name": config.model, "base_url": config.base_url}
    if config.model_path is None:
        spec = PACKAGED_MODELS[config.model]
        return {"backend": "llamacpp", "name": config.model, "file": spec.file, "sha256": spec.sha256}
    path = config.model_path
    return {"backend": "llamacpp", "name": path.stem, "file": str(path),
            "sha256": file_sha256(path) if path.is_file() else None}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()
