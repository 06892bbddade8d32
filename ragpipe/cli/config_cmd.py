"""``ragpipe config validate|show FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragpipe.cli.common import SetOption, handle_errors

app = typer.Typer(help="Check and print pipeline configs.", no_args_is_help=True)
FileArg = Annotated[Path, typer.Argument(help="Config file (YAML or TOML)")]


@app.command("validate")
@handle_errors
def validate(file: FileArg, set_: SetOption = None) -> None:
    """Exit 0 if FILE (with overrides) is a valid config; otherwise list every error by dotted path."""
    from ragpipe.config.loading import load_config
    from ragpipe.pipeline import Pipeline

    config = load_config(file, set_ or ())
    notes = Pipeline(config).stage_notes  # checks that the stages fit together
    print(f"{file}: valid (pipeline {config.name!r}, index fingerprint {config.fingerprint()})")
    for note in notes:
        print(f"note: {note}")


@app.command("show")
@handle_errors
def show(file: FileArg, set_: SetOption = None) -> None:
    """Print the effective config: FILE plus overrides plus every default, then (as comments) what the
    stages accept knowingly, such as chunks cut to the embedder's length."""
    from ragpipe.config.loading import dump_config, load_config
    from ragpipe.pipeline import Pipeline

    config = load_config(file, set_ or ())
    notes = Pipeline(config).stage_notes
    print(dump_config(config), end="")
    for note in notes:
        print(f"# note: {note}")
