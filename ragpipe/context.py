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

    ``index_dir`` is this pipeline's index folder (vector store, lexical index, catalog);
    ``cache_dir`` holds caches shared by every pipeline (embeddings).
    """

    settings: RuntimeSettings
    index_dir: Path
    cache_dir: Path
    embedder: Embedder | None = None
    store: VectorStore | None = None
    catalog: Catalog | None = None
