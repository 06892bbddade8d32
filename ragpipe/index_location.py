"""Where an index stage keeps its files: one index generation folder (see :mod:`ragpipe.generations`)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class IndexLocation:
    """The generation folder a store or lexical index reads (published, never written) or writes (work).

    ``root`` is the config's index folder that holds the generations (``<data_dir>/<name>/<fingerprint>``);
    its name identifies the index, e.g. for a server collection. ``max_text_repeats`` is how often the most
    frequent chunk text of a published generation occurs (recorded when it was published; 0 while writing).
    """

    folder: Path
    root: Path
    writable: bool
    max_text_repeats: int = 0

    @property
    def index_name(self) -> str:
        """``<pipeline name>-<fingerprint>``: a name for this index outside the folder (a server collection)."""
        return f"{self.root.parent.name}-{self.root.name}"

    def scratch_root(self) -> Path:
        """A writable folder for private copies of read-only files: ``<root>/replicas``, or under the
        system's temporary folder when the index folder cannot be written (a read-only data dir)."""
        inside = self.root / "replicas"
        if os.access(self.root, os.W_OK) and (not inside.exists() or os.access(inside, os.W_OK)):
            return inside
        return Path(tempfile.gettempdir()) / "ragpipe-replicas"
