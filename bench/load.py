"""Load: concurrent clients against a real uvicorn, on /v1/ask, /v1/sql and /v1/schema/search.

    .venv/bin/python bench/load.py [--seconds 60] [--ask-clients 12] [--sql-clients 4] [--search-clients 4]
                                   [--url http://127.0.0.1:8000 | --home DIR] [--json out.json]

Without --url it starts `ragsql serve` itself (the real model, the demo database) on a free port with a fresh
home (or --home, kept: a rerun reuses its index and saved prompt prefix), and waits until it is ready (the
demo's prompt prefix evaluated: a minute or more). Each client sends its
endpoint's requests one after another for --seconds. More ask clients than the model's queue holds
(`queue_size` waiting + the one answered) get the bounded queue's deliberate 503s; such a client waits
--busy-pause seconds (a real client would honour Retry-After) and asks again.

Prints, per endpoint, the count of each status, the throughput of answered requests, their p50/p95 latency
(for asks, mostly the wait for the model's turn: it answers one question at a time), and separately the
latency of the 503s (which must answer in milliseconds). Any other status, or a transport
error, is an error: listed, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [q["question"] for q in json.loads((REPO / "tests" / "data" / "demo_questions.json").read_text())]
SQL = [
    "SELECT vendor, COUNT(*) FROM managedelement GROUP BY vendor",
    "SELECT COUNT(*) FROM nrcelldu WHERE administrativestate = 'LOCKED'",
    "SELECT perceivedseverity, COUNT(*) FROM alarmlog GROUP BY perceivedseverity ORDER BY 2 DESC",
    "SELECT name FROM subnetwork ORDER BY name",
]
SEARCHES = ["alarm severity", "RRC setup success rate", "locked NR cells", "software version of a managed element"]


@dataclass
class Sample:
    status: int  # 0: transport error
    seconds: float
    ended: float  # time.monotonic() when the answer came
    error: str = ""


@dataclass
class Endpoint:
    name: str
    clients: int
    samples: list[Sample] = field(default_factory=list)

    def request(self, client: httpx.AsyncClient, n: int) -> Any:
        if self.name == "ask":
            return client.post("/v1/ask", json={"question": QUESTIONS[n % len(QUESTIONS)], "max_rows": 20})
        if self.name == "sql":
            return client.post("/v1/sql", json={"sql": SQL[n % len(SQL)]})
        return client.get("/v1/schema/search", params={"q": SEARCHES[n % len(SEARCHES)]})


async def run_client(endpoint: Endpoint, base_url: str, until: float, offset: int, busy_pause: float) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        for n in cycle(range(offset, offset + 1000)):
            if time.monotonic() >= until:
                return
            started = time.monotonic()
            try:
                response = await endpoint.request(client, n)
                sample = Sample(response.status_code, time.monotonic() - started, time.monotonic(),
                                "" if response.status_code == 200 else response.text[:200])
            except httpx.HTTPError as exc:
                sample = Sample(0, time.monotonic() - started, time.monotonic(), f"{type(exc).__name__}: {exc}")
            endpoint.samples.append(sample)
            if sample.status == 503:
                await asyncio.sleep(busy_pause)


def quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def is_busy(sample: Sample) -> bool:
    """The bounded queue's deliberate 503: the only answer besides 200 that is not an error."""
    return sample.status == 503 and '"busy"' in sample.error


def summarize(endpoints: list[Endpoint], started: float, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in endpoints:
        ok = [s.seconds for s in e.samples if s.status == 200]
        busy = [s.seconds for s in e.samples if is_busy(s)]
        # over the load's duration, or longer when the last answers came after it (queued asks)
        span = max([seconds, *(s.ended - started for s in e.samples)])
        out[e.name] = {
            "clients": e.clients,
            "statuses": dict(sorted(Counter(s.status for s in e.samples).items())),
            "throughput_per_s": round(len(ok) / span, 2),
            "p50_s": round(quantile(ok, 50), 3) if ok else None,
            "p95_s": round(quantile(ok, 95), 3) if ok else None,
            "busy_503": len(busy),
            "busy_p50_ms": round(1000 * quantile(busy, 50), 1) if busy else None,
            "busy_p95_ms": round(1000 * quantile(busy, 95), 1) if busy else None,
            "errors": [f"{s.status} {s.error}" for s in e.samples if s.status != 200 and not is_busy(s)],
        }
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def ragsql_serve(home: Path) -> Iterator[str]:
    """`ragsql serve` with its own home on a free port; its URL once ready."""
    port = free_port()
    env = {**os.environ, "RAGSQL_HOME": str(home), "RAGSQL_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    home.mkdir(parents=True, exist_ok=True)
    with (home / "server.log").open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], cwd=REPO, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            started = time.monotonic()
            while True:
                if server.poll() is not None:
                    sys.exit(f"the server stopped:\n{(home / 'server.log').read_text()}")
                try:
                    if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(1)
            print(f"server ready in {time.monotonic() - started:.0f} s (log: {home / 'server.log'})", flush=True)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=60)


async def load(base_url: str, endpoints: list[Endpoint], seconds: float, busy_pause: float) -> None:
    until = time.monotonic() + seconds
    await asyncio.gather(*(run_client(e, base_url, until, offset=7 * i, busy_pause=busy_pause)
                           for e in endpoints for i in range(e.clients)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="A running server; default: start `ragsql serve` with a fresh home")
    parser.add_argument("--home", type=Path, help="The started server's home (default: a temporary folder)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--ask-clients", type=int, default=12)
    parser.add_argument("--sql-clients", type=int, default=4)
    parser.add_argument("--search-clients", type=int, default=4)
    parser.add_argument("--busy-pause", type=float, default=0.5, help="Seconds a client waits after a 503")
    parser.add_argument("--json", type=Path, help="Also write the summary here")
    args = parser.parse_args()
    endpoints = [Endpoint("ask", args.ask_clients), Endpoint("sql", args.sql_clients),
                 Endpoint("search", args.search_clients)]
    endpoints = [e for e in endpoints if e.clients > 0]

    with tempfile.TemporaryDirectory(prefix="ragsql-load-") as tmp, (
        nullcontext(args.url.rstrip("/")) if args.url else ragsql_serve(args.home or Path(tmp) / "home")
    ) as url:
        started = time.monotonic()
        asyncio.run(load(url, endpoints, args.seconds, args.busy_pause))
    summary = summarize(endpoints, started, args.seconds)
    for name, s in summary.items():
        busy = f"  503 busy {s['busy_503']} (p50 {s['busy_p50_ms']} ms, p95 {s['busy_p95_ms']} ms)" \
            if s["busy_503"] else ""
        print(f"{name:<7} clients {s['clients']:<3} statuses {s['statuses']}  {s['throughput_per_s']}/s  "
              f"p50 {s['p50_s']} s  p95 {s['p95_s']} s{busy}")
        for error in s["errors"][:5]:
            print(f"        error: {error}")
    if args.json:
        args.json.write_text(json.dumps({"seconds": args.seconds, "endpoints": summary}, indent=2))
    sys.exit(1 if any(s["errors"] for s in summary.values()) else 0)


if __name__ == "__main__":
    main()
