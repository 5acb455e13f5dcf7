"""`ragsql eval run` and `ragsql eval compare`."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from eval.config import PRESETS, load_config
from eval.sets import DEFAULT_DATA, load_set

app = typer.Typer(help="Measure ragsql on text-to-SQL benchmarks by execution match; compare runs.",
                  no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@app.command()
def run(
    set_name: Annotated[str, typer.Option("--set", help="spider, spider-syn, spider-realistic, spider-dk, "
                                                         "dr-spider-abbreviation, bigschema...")] = "spider",
    data: Annotated[Path, typer.Option(help="Folder holding the sets (shared/data layout)")] = DEFAULT_DATA,
    db: Annotated[list[str] | None, typer.Option("--db", help="Only this database (repeatable)")] = None,
    limit: Annotated[int | None, typer.Option(help="N questions, spread evenly over the set", min=1)] = None,
    config: Annotated[Path | None, typer.Option(help="TOML: Settings fields, whole_schema, use_examples")] = None,
    preset: Annotated[list[str] | None, typer.Option(help=f"Repeatable: {', '.join(PRESETS)}")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/<set>-<config>-<time>); "
                                                  "an unfinished one is resumed")] = None,
) -> None:
    """Ask every question of a set through the service's pipeline and score it by execution match."""
    from eval.runner import RUNS, RunMismatch, RunSpec, build_settings, run_eval  # heavy: only when running
    from service.errors import RagsqlError
    from service.runtime import Runtime

    try:
        bench = load_set(data.resolve(), set_name)
        eval_config = load_config(preset or [], config)
        questions = bench.select(db, limit)
        db_ids = list(dict.fromkeys(q.db_id for q in questions))
        settings = build_settings(bench, db_ids, eval_config)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    spec = RunSpec(set=set_name, data=str(bench.data), dbs=sorted(db or []), limit=limit, config=eval_config,
                   question_ids=[q.id for q in questions])
    out_dir = out or RUNS / f"{set_name}-{eval_config.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    typer.echo(f"run folder: {out_dir}", err=True)
    rt = Runtime(settings)
    try:
        metrics = run_eval(bench, spec, out_dir, rt)
    except (RunMismatch, RagsqlError) as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        again = shlex.join(["ragsql", *sys.argv[1:]]) + ("" if out else f" --out {shlex.quote(str(out_dir))}")
        typer.echo(f"\ninterrupted; finished questions are kept. Resume with: {again}", err=True)
        raise typer.Exit(130) from None
    finally:
        rt.close()
    acc = metrics["accuracy"]
    by_hardness = ", ".join(f"{k} {v['accuracy']:.1%}" for k, v in metrics["accuracy_by_hardness"].items())
    typer.echo(f"execution accuracy {acc['accuracy']:.1%} ({acc['correct']}/{acc['total']}); {by_hardness}")
    typer.echo(f"report: {out_dir / 'report.md'}")


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="Run folder A (the reference)")],
    run_b: Annotated[Path, typer.Argument(help="Run folder B")],
    shown: Annotated[int, typer.Option(help="Flipped questions listed per direction")] = 20,
) -> None:
    """Accuracy deltas between two runs and the questions that flipped, both ways (markdown)."""
    from eval.compare import compare_runs

    try:
        typer.echo(compare_runs(run_a, run_b, shown), nl=False)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
