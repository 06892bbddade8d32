"""``ragpipe query TEXT``: retrieve, rerank and answer with citations."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ragpipe.cli.common import ConfigOption, SetOption, config_path, handle_errors, start_logging
from ragpipe.types import QueryResult


@handle_errors
def query(
    text: Annotated[str, typer.Argument(help="The question or search text")],
    config: ConfigOption = None,
    set_: SetOption = None,
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", "-f", help="Metadata filter: field=value or {year: {gte: 2024}} (repeatable, ANDed)"),
    ] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", "-k", help="Chunks to return")] = None,
    mode: Annotated[str | None, typer.Option(help="hybrid, dense or lexical (default: from config)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Answer TEXT from the index built by `ragpipe ingest` with the same config."""
    from ragpipe.filters import combine, parse_filter
    from ragpipe.pipeline import Pipeline

    flt = combine(*(parse_filter(f, f"--filter {f!r}") for f in filters or ()))
    with Pipeline.from_config(config_path(config), set_ or ()) as pipeline:
        start_logging(pipeline.settings)
        result = pipeline.query(text, filters=flt, top_k=top_k, mode=mode)
        fingerprint = pipeline.config.fingerprint()
    if result.index and not result.index.startswith(f"{fingerprint}/"):
        print(
            f"note: this config's index ({fingerprint}) has not completed an ingest yet; answered from the "
            f"previous index {result.index.split('/')[0]} of {pipeline.config.name!r} (its own chunking/embedding)",
            file=sys.stderr,
        )
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
        return
    _print_result(result)


def _print_result(result: QueryResult) -> None:
    from rich.console import Console
    from rich.markup import escape

    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if result.answer.text:
        out.print(f"[bold]Answer:[/bold] {escape(result.answer.text)}")
        for i, c in enumerate(result.answer.citations, 1):
            out.print(f"  [{i}] {escape(c.doc_id)} chars {c.start}-{c.end}")
    else:
        out.print("[bold]Answer:[/bold] (no supporting sentence found)")
    out.print()
    for rank, s in enumerate(result.chunks, 1):
        legs = " ".join(f"{leg}#{r}" for leg, r in s.leg_ranks.items())
        where = f"{escape(s.chunk.doc_id)} [{s.chunk.start}-{s.chunk.end}]"
        out.print(f"[bold]{rank}.[/bold] {where} score {s.score:.4f} ({legs})")
        out.print(f"   [dim]{escape(' '.join(s.chunk.text.split())[:240])}[/dim]")
    timings = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in result.timings.items())
    out.print(f"[dim]{timings}[/dim]")
