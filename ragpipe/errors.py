"""Exceptions raised by ragpipe; every message names the offending file/field/value."""


class RagpipeError(Exception):
    """Base class for all ragpipe errors."""


class ConfigError(RagpipeError):
    """A config file, override or value is invalid."""


class ParseError(RagpipeError):
    """A document could not be parsed; the message says why."""


class ModelNotFoundError(RagpipeError):
    """A model named in the config is not available locally (nothing is downloaded)."""


class MissingDependencyError(RagpipeError):
    """An optional backend was selected but its package is not installed."""


class IndexNotFoundError(RagpipeError):
    """A query ran against an index that has not been built yet."""


class IndexDamagedError(RagpipeError):
    """A published index generation is damaged: a file is missing, empty or unreadable.

    ``path`` names the damaged file or folder. ``ragpipe ingest`` (of the configured sources) rebuilds it.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"the index is damaged: {path}: {reason}; run `ragpipe ingest` (without paths) to rebuild it "
            "from the configured sources"
        )
