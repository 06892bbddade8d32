"""Sweep files: variants from a grid or a list, derived names, and up-front validation of every axis."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragpipe.errors import ConfigError
from ragpipe.evaluation.sweep_names import derive_name, override_string
from ragpipe.evaluation.sweep_spec import load_sweep

BASE = """
name: sweeptest
sources:
  - path: docs
chunking: {type: sentence, chunk_size: 200, chunk_overlap: 20}
retrieval: {fusion: {type: rrf, k: 60}}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    return write(tmp_path, "base.yaml", BASE)


def test_grid_is_a_cartesian_product_with_derived_names(tmp_path: Path, base: Path) -> None:
    sweep = write(
        tmp_path,
        "sweeps/grid.yaml",
        "base: ../base.yaml\ndataset: ../qa.jsonl\n"
        "grid:\n  chunking.type: [sentence, token]\n  chunking.chunk_size: [128, 256]\n  retrieval.fusion.k: [10]\n",
    )
    spec = load_sweep(sweep)
    names = [v.name for v in spec.variants]
    assert names == [
        "chunking.type=sentence,chunk_size=128,retrieval.fusion.k=10",
        "chunking.type=sentence,chunk_size=256,retrieval.fusion.k=10",
        "chunking.type=token,chunk_size=128,retrieval.fusion.k=10",
        "chunking.type=token,chunk_size=256,retrieval.fusion.k=10",
    ]
    assert spec.name == "grid" and spec.baseline == names[0]
    assert spec.dataset == (tmp_path / "qa.jsonl").resolve()
    third = spec.variants[2]
    assert third.config.chunking.type == "token" and third.config.chunking.chunk_size == 128
    assert third.config.retrieval.fusion.k == 10
    assert third.axes == {"chunking.type": "token", "chunking.chunk_size": "128", "retrieval.fusion.k": "10"}
    assert spec.axis_names() == ["chunking.type", "chunking.chunk_size", "retrieval.fusion.k"]


def test_variant_list_replaces_whole_sections_and_keeps_explicit_axes(tmp_path: Path, base: Path) -> None:
    sweep = write(
        tmp_path,
        "variants.yaml",
        "name: mixed\nbase: base.yaml\ndataset: qa.jsonl\nbaseline: small\nvariants:\n"
        "  - {name: small, set: {chunking.chunk_size: 64}, axes: {strategy: sentence, size: 64}}\n"
        "  - set: {chunking: {type: semantic, max_chunk_size: 64}}\n"
        "  - set: {}\n",
    )
    spec = load_sweep(sweep)
    small, semantic, plain = spec.variants
    assert spec.baseline == "small" and small.axes == {"strategy": "sentence", "size": "64"}
    assert semantic.name == "chunking.type=semantic,max_chunk_size=64"
    assert semantic.config.chunking.type == "semantic" and semantic.config.chunking.max_chunk_size == 64
    assert semantic.axes == {"chunking.type": "semantic", "chunking.max_chunk_size": "64"}
    assert plain.name == "base" and plain.config.chunking.chunk_size == 200
    # a derived axis is valued from each variant's effective config; a path it lacks reads "n/a"
    assert plain.axes == {"chunking.type": "sentence", "chunking.max_chunk_size": "n/a"}
    assert semantic.config.fingerprint() != plain.config.fingerprint()


def test_fusion_only_variants_share_the_index_fingerprint(tmp_path: Path, base: Path) -> None:
    sweep = write(tmp_path, "f.yaml", "base: base.yaml\ndataset: qa.jsonl\ngrid: {retrieval.fusion.k: [1, 10, 60]}\n")
    spec = load_sweep(sweep)
    assert len({v.config.fingerprint() for v in spec.variants}) == 1
    assert len({v.config.retrieval.fusion.k for v in spec.variants}) == 3


def test_derived_axes_cover_paths_a_variant_leaves_at_the_base_value(tmp_path: Path, base: Path) -> None:
    sweep = write(
        tmp_path,
        "d.yaml",
        "base: base.yaml\ndataset: qa.jsonl\nvariants:\n  - set: {chunking.chunk_size: 64}\n"
        "  - set: {retrieval.fusion.k: 10}\n",
    )
    first, second = load_sweep(sweep).variants
    assert first.axes == {"chunking.chunk_size": "64", "retrieval.fusion.k": "60"}
    assert second.axes == {"chunking.chunk_size": "200", "retrieval.fusion.k": "10"}


def test_inline_base_config_resolves_sources_against_the_sweep_file(tmp_path: Path) -> None:
    (tmp_path / "exp" / "docs").mkdir(parents=True)
    sweep = write(
        tmp_path,
        "exp/inline.yaml",
        "base_config: {name: inline, sources: [{path: docs}]}\ndataset: qa.jsonl\ngrid: {retrieval.top_k: [3, 5]}\n",
    )
    spec = load_sweep(sweep)
    assert spec.variants[0].config.base_dir == (tmp_path / "exp").resolve()
    assert [v.config.retrieval.top_k for v in spec.variants] == [3, 5]


def test_set_overrides_apply_to_the_base_of_every_variant(tmp_path: Path, base: Path) -> None:
    sweep = write(tmp_path, "s.yaml", "base: base.yaml\ndataset: qa.jsonl\ngrid: {retrieval.top_k: [3, 5]}\n")
    spec = load_sweep(sweep, ["chunking.chunk_size=99", "retrieval.top_k=9"])
    assert [v.config.chunking.chunk_size for v in spec.variants] == [99, 99]
    assert [v.config.retrieval.top_k for v in spec.variants] == [3, 5]  # the axis wins over --set


def test_a_non_existent_axis_path_names_the_file_the_axis_and_the_dotted_path(tmp_path: Path, base: Path) -> None:
    sweep = write(
        tmp_path,
        "bad.yaml",
        "base: base.yaml\ndataset: qa.jsonl\ngrid: {retrieval.fusion.kk: [1, 2], retrieval.top_k: [3]}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_sweep(sweep)
    message = str(info.value)
    assert str(sweep) in message
    assert "axis 'retrieval.fusion.kk'" in message
    assert "retrieval.fusion.kk: unknown key" in message and "allowed keys: k, type, weights" in message
    assert "retrieval.top_k'" not in message  # the valid axis is not blamed


def test_a_value_that_breaks_the_config_names_its_axis(tmp_path: Path, base: Path) -> None:
    sweep = write(tmp_path, "neg.yaml", "base: base.yaml\ndataset: qa.jsonl\ngrid: {chunking.chunk_size: [256, 4]}\n")
    with pytest.raises(ConfigError, match=r"axis 'chunking.chunk_size' of variant 'chunking.chunk_size=4'"):
        load_sweep(sweep)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("dataset: qa.jsonl\ngrid: {retrieval.top_k: [3]}\n", "exactly one of `base`"),
        ("base: base.yaml\ndataset: qa.jsonl\n", "exactly one of `grid`"),
        ("base: base.yaml\ndataset: qa.jsonl\ngrid: {retrieval.top_k: []}\n", "have no values"),
        ("base: nope.yaml\ndataset: qa.jsonl\ngrid: {retrieval.top_k: [3]}\n", "base config 'nope.yaml' not found"),
        ("base: base.yaml\ndataset: qa.jsonl\nbaseline: x\ngrid: {retrieval.top_k: [3]}\n", "baseline 'x' is not"),
        ("base: base.yaml\ndataset: qa.jsonl\nmetrics: [ndcg@0]\ngrid: {retrieval.top_k: [3]}\n", "unknown metric"),
        (
            "base: base.yaml\ndataset: qa.jsonl\nprimary_metric: mrr@10\nmetrics: [ndcg@10]\n"
            "grid: {retrieval.top_k: [3]}\n",
            "primary_metric 'mrr@10' is not among",
        ),
        ("base: base.yaml\ndataset: qa.jsonl\nvariants: [{name: a}, {name: a}]\n", "repeated: a"),
        ("base: base.yaml\ndataset: qa.jsonl\nvariant: []\n", "variant: unknown key"),
    ],
)
def test_invalid_sweep_files_are_reported_with_their_file(tmp_path: Path, base: Path, body: str, expected: str) -> None:
    sweep = write(tmp_path, "x.yaml", body)
    with pytest.raises(ConfigError) as info:
        load_sweep(sweep)
    assert expected in str(info.value) and "x.yaml" in str(info.value)


def test_cli_rejects_a_bad_axis_before_any_ingest(tmp_path: Path, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ragpipe.cli.app import app

    data_dir = tmp_path / "data"
    monkeypatch.setenv("RAGPIPE_DATA_DIR", str(data_dir))
    sweep = write(tmp_path, "bad.yaml", "base: base.yaml\ndataset: qa.jsonl\ngrid: {chunking.chunk_siz: [64]}\n")
    result = CliRunner().invoke(app, ["sweep", str(sweep), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "axis 'chunking.chunk_siz'" in result.output and "chunking.chunk_siz: unknown key" in result.output
    assert not data_dir.exists() and not (tmp_path / "out").exists()


def test_names_and_override_strings() -> None:
    assert derive_name([]) == "base"
    assert derive_name([("retrieval.fusion", {"type": "convex", "weight": 0.3})]) == (
        "retrieval.fusion.type=convex,weight=0.3"
    )
    assert (
        derive_name([("retrieval.mode", "dense"), ("rerank.type", "none")]) == "retrieval.mode=dense,rerank.type=none"
    )
    assert override_string("chunking", {"type": "token"}) == 'chunking={"type": "token"}'
    assert override_string("answer.type", "yes") == 'answer.type="yes"'  # stays a string, not YAML's boolean
