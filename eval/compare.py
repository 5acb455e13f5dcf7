"""Two runs side by side: accuracy deltas (overall, by hardness, by database) and the questions that flipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.metrics import accuracy, grouped
from eval.report import one_line, percent
from eval.runner import METRICS, PREDICTIONS, read_records
from eval.sets import HARDNESS_LEVELS

Record = dict[str, Any]


def compare_runs(run_a: Path, run_b: Path, shown: int = 20) -> str:
    """A markdown comparison over the questions both runs answered."""
    a, b = _load(run_a), _load(run_b)
    common = [i for i in a if i in b]
    if not common:
        raise ValueError(f"{run_a} and {run_b} share no question ids")
    name_a, name_b = _label(run_a), _label(run_b)
    pairs = [(a[i], b[i]) for i in common]
    lines = [f"# {name_a} (A) vs {name_b} (B)", "",
             f"{len(common)} questions in both runs (A only: {len(a) - len(common)}, B only: {len(b) - len(common)}).",
             "", "| group | A | B | delta | n |", "|---|---|---|---|---|",
             _delta_row("overall", pairs)]
    for key, label, order in (("hardness", "hardness", HARDNESS_LEVELS), ("db_id", "database", ())):
        for value, group in grouped([ra for ra, _ in pairs], key, order).items():
            ids = {r["id"] for r in group}
            lines.append(_delta_row(f"{label} {value}", [p for p in pairs if p[0]["id"] in ids]))
    fixed = [(ra, rb) for ra, rb in pairs if not ra["match"] and rb["match"]]
    broken = [(ra, rb) for ra, rb in pairs if ra["match"] and not rb["match"]]
    lines += ["", *_flipped(f"Right in B only ({len(fixed)})", fixed, shown),
              *_flipped(f"Right in A only ({len(broken)})", broken, shown)]
    return "\n".join(lines) + "\n"


def _load(run: Path) -> dict[str, Record]:
    if not (run / PREDICTIONS).is_file():
        raise FileNotFoundError(f"{run} is not a run folder (no {PREDICTIONS})")
    return read_records(run / PREDICTIONS)


def _label(run: Path) -> str:
    metrics = run / METRICS
    name = json.loads(metrics.read_text())["config"]["name"] if metrics.is_file() else "unfinished"
    return f"{run.name} [{name}]"


def _delta_row(label: str, pairs: list[tuple[Record, Record]]) -> str:
    acc_a = accuracy([a for a, _ in pairs])["accuracy"]
    acc_b = accuracy([b for _, b in pairs])["accuracy"]
    return f"| {label} | {percent(acc_a)} | {percent(acc_b)} | {(acc_b - acc_a) * 100:+.1f} pt | {len(pairs)} |"


def _flipped(title: str, pairs: list[tuple[Record, Record]], shown: int) -> list[str]:
    lines = [f"## {title}", ""]
    for ra, rb in pairs[:shown]:
        lines += [f"- `{ra['id']}` ({ra['db_id']}, {ra['hardness']}): {ra['question']}",
                  f"  - A ({ra['category']}): `{one_line(ra['predicted']) or '-'}`",
                  f"  - B ({rb['category']}): `{one_line(rb['predicted']) or '-'}`",
                  f"  - gold: `{one_line(ra['gold'])}`"]
    if len(pairs) > shown:
        lines.append(f"- ... and {len(pairs) - shown} more")
    return [*lines, ""]
