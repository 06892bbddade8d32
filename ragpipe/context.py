"""What a component may need besides its own config, filled in by the pipeline factory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ragpipe.config.settings import RuntimeSettings

if TYPE_CHECKING:
    from ragpipe.catalog import Catalog
    from ragpipe.protocols import Embedder, VectorStore


@dataclass
class BuildContext:
    """Shared runtime objects. Components keep a reference and read fields lazily on use.

    ``index_dir`` is the folder of the index generation being read or written (vector store, lexical
    index, catalog files); ``index_root`` is this config's index folder that holds the generations (its
    name identifies the index, e.g. for a server collection; see :mod:`ragpipe.generations`);
    ``cache_dir`` holds caches shared by every pipeline (embeddings). ``read_only`` is True for a
    published generation, which nothing may write.
    """

    settings: RuntimeSettings
    index_dir: Path
    cache_dir: Path
    index_root: Path | None = None
    read_only: bool = False
    embedder: Embedder | None = None
    store: VectorStore | None = None
    catalog: Catalog | None = None
