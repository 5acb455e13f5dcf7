"""Generation backends under load: the same demo questions asked through vLLM (continuous batching, the
OpenAI-compatible backend) and through llama.cpp in-process, 1, 4 and 8 at a time; then vLLM's n-gram speculative
decoding on and off (tokens/s of the generate stage, the draft acceptance rate from /metrics).

    .venv/bin/python -m bench.backend_bench [--questions 8] [--concurrency 1,4,8] [--json out.json]

Both backends serve the packaged Qwen2.5-Coder-0.5B (vLLM: converted to bf16 safetensors by the recipe of
bench/vllm_server.py; llama.cpp: the Q4_K_M GGUF), each warmed up on the demo database first. Latency is one
`AskPipeline.ask` end to end (retrieve, generate, validate, execute); throughput is asks per second of wall time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench.vllm_server import NO_SPECULATION, VLLMServer
from service.llm.base import LLM
from service.llm.factory import build_llm
from service.llm.openai_compat import OpenAILLM
from service.pipeline import AskPipeline
from service.runtime import Runtime
from service.settings import LlamaCppConfig, OpenAIConfig, Settings

REPO = Path(__file__).resolve().parent.parent


def questions(n: int) -> list[str]:
    items = json.loads((REPO / "tests" / "data" / "demo_questions.json").read_text())
    return [item["question"] for item in items[:n]]


def under_load(pipeline: AskPipeline, asks: list[str], concurrency: int) -> dict[str, Any]:
    def one(question: str) -> tuple[float, int]:
        started = time.perf_counter()
        result = pipeline.ask(question, "demo")
        return time.perf_counter() - started, int(result.error is None)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = list(pool.map(one, asks))
    wall = time.perf_counter() - started
    latencies = [seconds for seconds, _ in done]
    return {"concurrency": concurrency, "asks": len(asks), "answered": sum(ok for _, ok in done),
            "throughput_per_s": round(len(asks) / wall, 3), "p50_s": round(float(np.percentile(latencies, 50)), 2),
            "p95_s": round(float(np.percentile(latencies, 95)), 2)}


def decoding_speed(pipeline: AskPipeline, llm: OpenAILLM, asks: list[str]) -> dict[str, Any]:
    """Generated tokens per second of the generate stage, one ask at a time, and the acceptance over them."""
    before = llm.acceptance() or {"drafted": 0.0, "accepted": 0.0}
    tokens, seconds = 0, 0.0
    for question in asks:
        result = pipeline.ask(question, "demo")
        tokens += result.tokens.generated
        seconds += result.timings.get("generate", 0.0)
    after = llm.acceptance()
    drafted = after["drafted"] - before["drafted"] if after else 0.0
    accepted = after["accepted"] - before["accepted"] if after else 0.0
    return {"tokens_per_s": round(tokens / seconds, 2), "generated": tokens,
            "acceptance_rate": round(accepted / drafted, 3) if drafted else None, "drafted": drafted}


def pipeline_over(settings: Settings, llm: LLM, embedder: Any, store: Any) -> AskPipeline:
    pipeline = AskPipeline(Runtime(settings, llm=llm, embedder=embedder, store=store))
    pipeline.warm_up("demo")
    return pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    asks = questions(args.questions)
    levels = [int(c) for c in args.concurrency.split(",")]
    report: dict[str, Any] = {"load": {}, "speculative": {}}
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), llm=LlamaCppConfig(model="qwen2.5-coder-0.5b", prefix_cache=False))
        rt = Runtime(settings)
        rt.index("demo")
        llama = pipeline_over(settings, build_llm(settings), rt.embedder, rt.store)
        report["load"]["llamacpp"] = [under_load(llama, asks, c) for c in levels]
        print(json.dumps(report["load"]["llamacpp"]), flush=True)
        for speculation, extra in (("on", []), ("off", NO_SPECULATION)):
            server = VLLMServer(Path(home) / f"vllm-{speculation}.log", extra=extra)
            server.start(1800)
            try:
                llm = OpenAILLM(OpenAIConfig(kind="openai", base_url=server.base_url, timeout_s=600))
                vllm = pipeline_over(settings, llm, rt.embedder, rt.store)
                report["speculative"][speculation] = decoding_speed(vllm, llm, asks)
                print(speculation, json.dumps(report["speculative"][speculation]), flush=True)
                if speculation == "on":
                    report["load"]["vllm"] = [under_load(vllm, asks, c) for c in levels]
                    print(json.dumps(report["load"]["vllm"]), flush=True)
            finally:
                server.stop()
        rt.close()
    print_tables(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


def print_tables(report: dict[str, Any]) -> None:
    print("| backend | concurrent asks | asks/s | p50 s | p95 s | answered |\n|---|---|---|---|---|---|")
    for backend, rows in report["load"].items():
        for r in rows:
            print(f"| {backend} | {r['concurrency']} | {r['throughput_per_s']} | {r['p50_s']} | {r['p95_s']} | "
                  f"{r['answered']}/{r['asks']} |")
    print("\n| vLLM n-gram speculation | tokens/s (generate) | acceptance rate | drafted tokens |\n|---|---|---|---|")
    for setting, r in report["speculative"].items():
        print(f"| {setting} | {r['tokens_per_s']} | {r['acceptance_rate']} | {r['drafted']:.0f} |")


if __name__ == "__main__":
    main()
