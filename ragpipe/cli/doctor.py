"""``ragpipe doctor``: check that this installation works offline (used by the set-up script)."""

from __future__ import annotations

import time

from ragpipe.cli.common import handle_errors


@handle_errors
def doctor() -> None:
    """Load the bundled embedding model offline, parse each supported format, open the embedded store."""
    import tempfile
    from pathlib import Path

    from ragpipe import registry
    from ragpipe.models import bundled_model_path

    started = time.perf_counter()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    vector = model.encode(["ragpipe works offline"], normalize_embeddings=True)
    print(
        f"ok  bundled model {bundled_model_path().name}: dim {vector.shape[1]} in {time.perf_counter() - started:.1f}s"
    )
    print(f"ok  parsers: {', '.join(registry.types_of('parser'))}")
    import qdrant_edge  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.md"
        sample.write_text("# Title\n\nSome text.\n", encoding="utf-8")
        from ragpipe.ingest.loader import load_document
        from ragpipe.ingest.sources import FoundFile

        doc = load_document(FoundFile(sample, "sample.md", Path(tmp), {}), {}, 1 << 20).document
        print(f"ok  markdown parse: {len(doc.text)} chars")
    print("ok  qdrant-edge importable")
