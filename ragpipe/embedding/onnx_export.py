"""Export a local BERT-style encoder to ONNX and quantize it, once, offline, into a shared cache.

Steps (all deterministic, nothing downloaded): the transformer of a Hugging Face / sentence-transformers
folder is traced with torch's TorchScript exporter (eager attention, opset 17, dynamic batch and sequence
axes, output ``last_hidden_state``); then, for ``dynamic-int8``, onnxruntime's ``quantize_dynamic`` turns
every weight MatMul into int8 (signed, per output channel) with uint8 activations quantized at run time
(MatMulInteger / DynamicQuantizeLinear kernels), and the embedding tables into int8; the projections
named in ``KEPT_FP32`` stay fp32. Per-channel weights are needed: per-tensor int8 loses too much on MiniLM
(cosine to fp32 ~0.93 instead of ~0.99).

The result lives at ``cache_dir/onnx/<key>/model.onnx``; ``key`` hashes the model identity, the options
and the versions of the packages that produce the file. It is written to a temporary file and renamed into
place under an exclusive file lock, so concurrent threads or processes export once and readers never see a
partial file. torch, transformers and onnx are imported only here, only when an export is needed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

from ragpipe.errors import ConfigError, MissingDependencyError, ModelNotFoundError

Quantization = Literal["dynamic-int8", "dynamic-int8-mixed", "none"]
# Weight MatMuls kept in fp32, by quantization (TorchScript node names of BERT-style encoders). Measured on
# MiniLM vs torch fp32 (200 SciFact abstracts): all int8 cos 0.9925 (min 0.978); attention output kept fp32:
# 0.9951 (0.992) at the same speed; the FFN output too: 0.9979 (0.9965) for 10-30% more CPU time.
KEPT_FP32 = {
    "dynamic-int8": re.compile(r"/attention/output/dense/MatMul$"),
    "dynamic-int8-mixed": re.compile(r"/attention/output/dense/MatMul$|/layer\.\d+/output/dense/MatMul$"),
}

EXPORT_RECIPE = 2  # bump whenever the steps below change the file they produce
OPSET = 17
EXPORT_PACKAGES = ("torch", "transformers", "onnx", "onnxruntime")
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
SUPPORTED_MODULES = ("Transformer", "Pooling", "Normalize")  # sentence-transformers module class names


def package_versions() -> dict[str, str]:
    """Versions of the packages an export depends on (read from metadata, nothing imported)."""
    versions = {}
    for name in EXPORT_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "missing"
    return versions


def export_key(identity: str, quantize: Quantization) -> str:
    """Short hash naming one export: model identity, options, recipe and package versions."""
    recipe = {
        "model": identity,
        "quantize": quantize,
        "recipe": EXPORT_RECIPE,
        "opset": OPSET,
        "packages": package_versions(),
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def check_exportable(model_dir: Path) -> dict[str, object]:
    """The folder's config.json; ConfigError if its sentence-transformers pipeline is not mean pooling."""
    config_file = model_dir / "config.json"
    if not model_dir.is_dir() or not config_file.is_file():
        raise ModelNotFoundError(
            f"embedding.model: {model_dir} is neither an ONNX model nor a model folder with config.json"
        )
    modules_file = model_dir / "modules.json"
    if modules_file.is_file():
        for module in json.loads(modules_file.read_text(encoding="utf-8")):
            if str(module.get("type")).rsplit(".", 1)[-1] not in SUPPORTED_MODULES:
                raise ConfigError(
                    f"embedding.model: {modules_file} has module {module.get('type')!r}; the onnx embedder supports "
                    "only Transformer + mean Pooling (+ Normalize)"
                )
            pooling_file = model_dir / module.get("path", "") / "config.json"
            if module["type"].endswith("Pooling") and pooling_file.is_file():
                modes = json.loads(pooling_file.read_text(encoding="utf-8"))
                if [k for k, v in modes.items() if k.startswith("pooling_mode_") and v] != ["pooling_mode_mean_tokens"]:
                    raise ConfigError(f"embedding.model: {pooling_file} is not mean pooling; only mean is supported")
    return json.loads(config_file.read_text(encoding="utf-8"))


@contextmanager
def exclusive_lock(lock_file: Path) -> Iterator[None]:
    """An exclusive lock held across threads and processes (flock on a lock file)."""
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export_path(identity: str, quantize: Quantization, cache_dir: Path) -> Path:
    """Where the export of model ``identity`` with these options lives (whether or not it exists yet)."""
    return cache_dir / "onnx" / export_key(identity, quantize) / "model.onnx"


def cached_export(model_dir: Path, identity: str, quantize: Quantization, cache_dir: Path) -> Path:
    """Path of the exported (and quantized) model, exporting it first if no earlier run did."""
    target = export_path(identity, quantize, cache_dir)
    if target.is_file():
        return target
    check_exportable(model_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target.parent / ".lock"):
        if target.is_file():  # another thread or process finished it while we waited
            return target
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as scratch, root_logging_kept():
            fp32 = Path(scratch) / "fp32.onnx"
            export_fp32(model_dir, fp32)
            final = fp32 if quantize == "none" else quantize_int8(fp32, Path(scratch) / "int8.onnx", quantize)
            info = {"model": identity, "source": str(model_dir), "quantize": quantize, "packages": package_versions()}
            (target.parent / "export.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
            os.replace(final, target)
    return target


def export_fp32(model_dir: Path, target: Path) -> None:
    """Trace the encoder of ``model_dir`` to an fp32 ONNX file returning ``last_hidden_state``."""
    try:
        import onnx  # noqa: F401  (the TorchScript exporter needs it)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise MissingDependencyError(
            f"embedding.model: exporting {model_dir} to ONNX needs torch, transformers and onnx ({exc}); "
            "install them with `pip install 'ragpipe[torch]'`"
        ) from exc

    class LastHiddenState(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    try:
        encoder = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager", local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotFoundError(f"embedding.model: {model_dir} is not a loadable transformers model: {exc}") from exc
    module = LastHiddenState(encoder.float().eval())
    # Two rows, the second padded, so tracing never specialises on an all-ones mask.
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 3231, 102, 0, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about Python-side shape checks
        torch.onnx.export(
            module,
            (ids, mask, torch.zeros_like(ids)),
            str(target),
            dynamo=False,
            input_names=list(INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )


@contextmanager
def root_logging_kept() -> Iterator[None]:
    """Undo what the exporters do to the root logger (a ``basicConfig`` at DEBUG, seen after quantizing,
    made every library's debug messages print for the rest of the process)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


class DropPreprocessHint(logging.Filter):
    """Hides quantize_dynamic's root-logger hint to run its pre-processing (it only folds constants here,
    which onnxruntime does when it loads the model, and its symbolic shape inference fails on this graph)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def quantize_int8(source: Path, target: Path, quantize: Quantization) -> Path:
    """Dynamic int8 quantization of ``source`` (per-channel signed weights) written to ``target``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    kept = [n.name for n in graph.node if n.op_type == "MatMul" and KEPT_FP32[quantize].search(n.name)]

    hint_filter = DropPreprocessHint()
    logging.getLogger().addFilter(hint_filter)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Gather"],
            nodes_to_exclude=kept,
        )
    finally:
        logging.getLogger().removeFilter(hint_filter)
    return target
