"""The ``ragpipe`` command. Sub-commands live one per module and import heavy code lazily."""

from __future__ import annotations

import typer

from ragpipe.cli import config_cmd, doctor, eval_cmd, ingest, query, status, sweep_cmd

app = typer.Typer(
    name="ragpipe",
    help="Configurable, offline-first RAG pipelines: ingest documents, query them, check configs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("ingest")(ingest.ingest)
app.command("query")(query.query)
app.command("eval")(eval_cmd.eval_)
app.command("sweep")(sweep_cmd.sweep)
app.command("status")(status.status)
app.command("doctor")(doctor.doctor)
app.add_typer(config_cmd.app, name="config")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
