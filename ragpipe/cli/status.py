"""``ragpipe status``: what an ingest would add, update and delete (a dry run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ragpipe.cli.common import EXIT_ERROR, ConfigOption, SetOption, config_path, files_json, handle_errors


@handle_errors
def status(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders; default: the config's sources")] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON")] = False,
) -> None:
    """Compare the sources with the index by content hash; nothing is parsed, embedded or written.

    Exits 1 when the published index is damaged (an ingest rebuilds it)."""
    from ragpipe.generations import current_or_damaged
    from ragpipe.pipeline import Pipeline

    with Pipeline.from_config(config_path(config), set_ or ()) as pipeline:
        plan = pipeline.plan(paths or None)
        index_dir = pipeline.index_dir
        generation = current_or_damaged(index_dir)[0]
    if as_json:
        payload = {
            "index_dir": str(index_dir),
            "generation": generation,
            "add": plan.add,
            "update": plan.update,
            "delete": plan.delete,
            "unchanged": len(plan.unchanged),
            "unreadable": files_json(plan.unreadable),
            "duplicates": files_json(plan.duplicates),
            "damaged": plan.damaged,
        }
        print(json.dumps(payload, indent=2))
        if plan.damaged:
            raise typer.Exit(EXIT_ERROR)
        return
    out = sys.stdout
    print(f"published generation: {generation or '(none yet)'}", file=out)
    if plan.damaged:
        print(f"DAMAGED: {plan.damaged}", file=out)
    print(
        f"{index_dir}: {len(plan.add)} to add, {len(plan.update)} to update, {len(plan.delete)} to delete, "
        f"{len(plan.unchanged)} unchanged",
        file=out,
    )
    for label, ids in (("add", plan.add), ("update", plan.update), ("delete", plan.delete)):
        for doc_id in ids:
            print(f"  {label:<6} {doc_id}", file=out)
    for failure in plan.unreadable:
        print(f"  unreadable {failure.path}: {failure.reason}", file=out)
    for duplicate in plan.duplicates:
        print(f"  skip   {duplicate.path}: {duplicate.reason}", file=out)
    if plan.damaged:
        raise typer.Exit(EXIT_ERROR)
