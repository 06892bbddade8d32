"""Options and error handling shared by every sub-command."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ragpipe.config.settings import RuntimeSettings
    from ragpipe.types import FileFailure

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CONFIG = 2
"""Invalid config, arguments or filter."""
EXIT_ERROR = 1
"""Any other ragpipe error (missing model, empty index, ...)."""
EXIT_PARTIAL = 3
"""The ingest finished but some documents failed (the summary lists them)."""

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Pipeline config (YAML/TOML). Default: $RAGPIPE_CONFIG or configs/default.yaml"
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a config value: dotted.path=value (repeatable)"),
]


def config_path(option: Path | None) -> Path:
    if option is not None:
        return option
    from ragpipe.config.settings import load_settings

    return load_settings().config


LOG_FILE = Path("logs") / "ragpipe.log"


def start_logging(settings: RuntimeSettings) -> Path | None:
    """Send log records (ragpipe's and the libraries', warnings included) to ``<data_dir>/logs/ragpipe.log``
    instead of raw to the terminal; returns the file, or None when the data dir cannot be written (a
    read-only index: the records are then dropped rather than printed)."""
    import logging

    root = logging.getLogger()
    if any(getattr(h, "ragpipe_cli", False) for h in root.handlers):
        return None
    path = settings.data_dir / LOG_FILE
    handler: logging.Handler
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler, path = logging.NullHandler(), None  # type: ignore[assignment]
    handler.ragpipe_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    return path


def files_json(failures: Iterable[FileFailure]) -> list[dict[str, str]]:
    """Failed, skipped or noted files as `{"path", "reason"}` objects for `--json` output."""
    return [{"path": f.path, "reason": f.reason} for f in failures]


def handle_errors(func: F) -> F:
    """Print ragpipe errors as one clear message on stderr with a meaningful exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ragpipe.errors import ConfigError, RagpipeError

        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_CONFIG) from None
        except RagpipeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]
