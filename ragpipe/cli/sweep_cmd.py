"""``ragpipe sweep SWEEP.yaml [--out DIR] [--set dotted.path=value]``: score every variant, compare, report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ragpipe.cli.common import EXIT_PARTIAL, SetOption, handle_errors

TABLE_WIDTH = 160


@handle_errors
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="Sweep file (YAML): base config, dataset, grid or variants")],
    out: Annotated[
        Path | None, typer.Option(help="Output folder; default: results/sweeps/<sweep name>-<timestamp>")
    ] = None,
    set_: SetOption = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Ingest/evaluate bars; default: on a terminal")
    ] = None,
) -> None:
    """Score every variant of a sweep file against its baseline: leaderboard, HTML report, best config.

    Each variant is the base config plus dotted overrides; variants share cached work (a fusion-only change
    embeds nothing). Writes leaderboard.csv/.md, report.html, best_config.yaml and sweep.json into --out.
    --set applies to the base config.

    Exit codes: 0 ok, 2 invalid sweep file or config (nothing runs), 3 some variants failed (listed), 1 other.
    """
    from rich.console import Console
    from rich.markup import escape

    from ragpipe.config.settings import RuntimeSettings
    from ragpipe.evaluation.sweep import StageEvent, default_out_dir, run_sweep
    from ragpipe.evaluation.sweep_leaderboard import embedding_work_lines, terminal_table
    from ragpipe.evaluation.sweep_spec import load_sweep

    spec = load_sweep(sweep_file, set_ or ())
    out_dir = out or default_out_dir(spec)
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    status = Console(stderr=True, highlight=False, soft_wrap=True)
    status.print(
        f"sweep {escape(spec.name)}: {len(spec.variants)} variants on {escape(str(spec.dataset))} "
        f"(baseline {escape(spec.baseline)}, primary metric {spec.primary_metric}) -> {escape(str(out_dir))}"
    )

    def show_stage(event: StageEvent) -> None:
        status.print(f"[bold]{escape(str(event))}[/bold]")

    result = run_sweep(spec, out_dir, RuntimeSettings(), progress=progress, on_stage=show_stage)
    # Piped output gets a wide table rather than one squeezed into 80 columns.
    table_console = console if console.is_terminal else Console(file=sys.stdout, width=TABLE_WIDTH)
    table_console.print(terminal_table(result))
    console.print(escape(embedding_work_lines(result)[0]))
    console.print(f"best by {result.primary_metric}: {escape(result.best.name)}")
    for failure in result.failed:
        console.print(f"[red]failed[/red] {escape(failure.name)}: {escape(failure.message)}")
    for name in ("leaderboard.csv", "leaderboard.md", "report.html", "best_config.yaml", "sweep.json"):
        console.print(f"  {escape(str(out_dir / name))}")
    if result.failed:
        raise typer.Exit(EXIT_PARTIAL)
