"""``ragpipe ingest [PATH...]``: index files and folders (default: the config's sources)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ragpipe.cli.common import (
    EXIT_PARTIAL,
    ConfigOption,
    SetOption,
    config_path,
    files_json,
    handle_errors,
    start_logging,
)
from ragpipe.types import IngestReport


@handle_errors
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders; default: the config's sources")] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    id_prefix: Annotated[
        str, typer.Option("--id-prefix", help="Prepended to the ids of PATHs outside every configured source")
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Default: on a terminal")] = None,
) -> None:
    """Parse, chunk, embed and index documents. Unchanged documents are skipped; documents gone from the
    configured sources (or, with PATHs, from under those paths) are deleted."""
    from ragpipe.pipeline import Pipeline

    with Pipeline.from_config(config_path(config), set_ or ()) as pipeline:
        start_logging(pipeline.settings)
        report = pipeline.ingest(paths or None, progress=progress, id_prefix=id_prefix)
        index_dir = pipeline.index_dir
    if as_json:
        payload = {
            "index_dir": str(index_dir),
            "documents_seen": report.documents_seen,
            "documents_indexed": report.documents_indexed,
            "documents_unchanged": report.documents_unchanged,
            "documents_deleted": report.documents_deleted,
            "documents_failed": report.failed,
            "chunks_indexed": report.chunks_indexed,
            "chunks_embedded": report.chunks_embedded,
            "texts_embedded": report.texts_embedded,
            "resumed": report.resumed,
            "seconds": round(report.seconds, 3),
            "failures": files_json(report.failures),
            "skipped": files_json(report.skipped),
            "notes": files_json(report.notes),
            "generation": report.generation,
        }
        print(json.dumps(payload, indent=2))
    else:
        _print_summary(report, index_dir)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _print_summary(report: IngestReport, index_dir: Path) -> None:
    from rich.console import Console

    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    out.print(
        f"indexed {report.documents_indexed} documents ({report.chunks_indexed} chunks, "
        f"{report.chunks_embedded} embedded), {report.documents_unchanged} unchanged, "
        f"{report.documents_deleted} deleted, {report.failed} failed, {len(report.skipped)} skipped "
        f"in {report.seconds:.1f}s -> {index_dir}"
    )
    if report.resumed:
        out.print("  resumed the work an interrupted ingest left")
    for failure in report.failures:
        out.print(f"  [red]failed[/red]  {failure.path}: {failure.reason}")
    for skipped in report.skipped:
        out.print(f"  [yellow]skipped[/yellow] {skipped.path}: {skipped.reason}")
    for note in report.notes:
        out.print(f"  [cyan]note[/cyan]    {note.path}: {note.reason}")
