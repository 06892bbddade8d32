"""``ragpipe doctor``: check that this installation works offline (used by the set-up script)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ragpipe.cli.common import handle_errors
from ragpipe.errors import RagpipeError

if TYPE_CHECKING:
    import numpy as np

    from ragpipe.embedding.onnx import OnnxEmbedder


@handle_errors
def doctor() -> None:
    """Load the bundled embedding model offline (on torch, and exported to ONNX for the default embedder,
    once per machine), list the installed extras, parse a document, open the embedded store."""
    import tempfile
    from pathlib import Path

    from ragpipe import registry
    from ragpipe.extras import EXTRAS, installed

    missing = {extra: [m for m in modules if not installed(m)] for extra, modules in EXTRAS.items()}
    for extra, modules in missing.items():
        state = "ok  " if not modules else "--  "
        detail = "installed" if not modules else f"not installed ({', '.join(modules)} missing)"
        print(f"{state}extra ragpipe[{extra}]: {detail}")
    reference = None if missing["torch"] else _torch_reference()
    started = time.perf_counter()
    onnx = _default_onnx_embedder()
    vector = onnx.embed_documents(["ragpipe works offline"])
    if reference is not None:
        cosine = float(vector[0] @ reference[0])
        if cosine < 0.999:
            raise RagpipeError(
                f"the ONNX export {onnx.onnx_path} disagrees with torch (cosine {cosine:.4f}); delete it"
            )
        check = f"cosine to torch {cosine:.6f}"
    else:
        check = "not compared with torch (ragpipe[torch] is not installed)"
    print(
        f"ok  default embedder (ONNX fp32 export, {onnx.onnx_path.parent}): {check} "
        f"in {time.perf_counter() - started:.1f}s"
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


def _torch_reference() -> np.ndarray:
    """The bundled model's vector of a test sentence on torch (sentence-transformers)."""
    from ragpipe.models import bundled_model_path
    from ragpipe.offline import offline_environment

    started = time.perf_counter()
    offline_environment()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(bundled_model_path()), device="cpu", local_files_only=True)
    reference = model.encode(["ragpipe works offline"], normalize_embeddings=True)
    print(
        f"ok  bundled model (all-MiniLM-L6-v2) on torch: dim {reference.shape[1]} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return reference


def _default_onnx_embedder() -> OnnxEmbedder:
    """The default config's embedder (exporting the model on first use), outside any index."""
    from ragpipe.config.settings import load_settings
    from ragpipe.embedding.onnx import OnnxConfig, OnnxEmbedder

    return OnnxEmbedder(OnnxConfig(), load_settings())
