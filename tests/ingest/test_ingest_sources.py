"""File discovery: globs with ``**``, hidden files, symlinks, order, document ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragpipe.config.models import SourceConfig
from ragpipe.errors import ConfigError
from ragpipe.ingest.sources import FoundFile, SkippedPath, discover, glob_to_regex


def ids(source: SourceConfig, base_dir: Path) -> list[str]:
    return [found.doc_id for found in discover(source, base_dir)]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    files = [
        "b.md",
        "a.txt",
        "Z.md",
        "guide/intro.md",
        "guide/deep/more/notes.md",
        "guide/deep/data.csv",
        "build/out.md",
        ".hidden.md",
        ".github/workflows/ci.md",
        "guide/.cache/tmp.md",
    ]
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {name}\n")
    return root


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*.md", "a.md", True),
        ("**/*.md", "x/y/a.md", True),
        ("**/*.md", "x/a.txt", False),
        ("*.md", "x/a.md", False),
        ("docs/*.md", "docs/a.md", True),
        ("docs/*.md", "docs/x/a.md", False),
        ("docs/**", "docs/x/y/z.txt", True),
        ("docs/**", "other/x.txt", False),
        ("a/**/b.txt", "a/b.txt", True),
        ("a/**/b.txt", "a/x/y/b.txt", True),
        ("?.txt", "a.txt", True),
        ("?.txt", "ab.txt", False),
        ("[ab].txt", "b.txt", True),
        ("[!ab].txt", "b.txt", False),
        ("[!ab].txt", "c.txt", True),
        ("file(1).txt", "file(1).txt", True),
        ("**/*", ".env", False),
        ("**/*", "a/.cache/x.md", False),
        ("**/.env", "a/.env", True),
        (".github/**", ".github/workflows/ci.yml", True),
    ],
)
def test_glob_to_regex(pattern: str, path: str, expected: bool) -> None:
    assert bool(glob_to_regex(pattern).fullmatch(path)) is expected


def test_exclude_globs_match_hidden_names() -> None:
    assert glob_to_regex("**/*.log", match_hidden=True).fullmatch("a/.debug.log")


def test_empty_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="empty glob pattern"):
        glob_to_regex(" / ")


def test_walk_is_sorted_recursive_and_skips_hidden(tree: Path) -> None:
    found = list(discover(SourceConfig(path=str(tree)), tree.parent))
    assert [f.doc_id for f in found] == [
        "Z.md",
        "a.txt",
        "b.md",
        "build/out.md",
        "guide/deep/data.csv",
        "guide/deep/more/notes.md",
        "guide/intro.md",
    ]
    first = found[0]
    assert first == FoundFile(path=tree / "Z.md", doc_id="Z.md", root=tree, metadata={})
    assert all(f.path == f.root / f.doc_id for f in found)


def test_include_and_exclude(tree: Path) -> None:
    source = SourceConfig(path="docs", include=["**/*.md"], exclude=["build/**", "**/more/*"])
    assert ids(source, tree.parent) == ["Z.md", "b.md", "guide/intro.md"]
    only_top = SourceConfig(path="docs", include=["*.md", "*.txt"])
    assert ids(only_top, tree.parent) == ["Z.md", "a.txt", "b.md"]


def test_hidden_files_when_an_include_names_them(tree: Path) -> None:
    source = SourceConfig(path=str(tree), include=["**/*.md", ".github/**", ".hidden.md"])
    assert ids(source, tree) == [
        ".github/workflows/ci.md",
        ".hidden.md",
        "Z.md",
        "b.md",
        "build/out.md",
        "guide/deep/more/notes.md",
        "guide/intro.md",
    ]


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """A source folder with a symlink loop, two links to one outside folder and a link to an outside file."""
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "doc.txt").write_text("x")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "linked.txt").write_text("y")
    (tmp_path / "secret.txt").write_text("z")
    (root / "zz-link").symlink_to(outside, target_is_directory=True)
    (root / "sub" / "again").symlink_to(outside, target_is_directory=True)
    (root / "secret.txt").symlink_to(tmp_path / "secret.txt")
    return root


def test_symlinks_leading_outside_the_source_are_skipped_and_reported(linked: Path) -> None:
    skipped: list[SkippedPath] = []
    found = [f.doc_id for f in discover(SourceConfig(path=str(linked)), linked.parent, on_skip=skipped.append)]
    assert found == ["sub/doc.txt"]  # the loop ends; nothing outside the folder is published
    reasons = {s.rel: s.reason for s in skipped}
    assert set(reasons) == {"secret.txt", "sub/again", "sub/loop", "zz-link"}
    for rel in ("secret.txt", "sub/again", "zz-link"):
        assert "outside the source folder" in reasons[rel] and "follow_external_symlinks: true" in reasons[rel]
    assert reasons["sub/loop"].startswith("symlink loop")
    assert not any(s.failed for s in skipped)


def test_external_symlinks_are_followed_when_allowed_and_each_folder_walked_once(linked: Path) -> None:
    source = SourceConfig(path=str(linked), follow_external_symlinks=True)
    skipped: list[SkippedPath] = []
    found = [f.doc_id for f in discover(source, linked.parent, on_skip=skipped.append)]
    assert found == ["secret.txt", "sub/again/linked.txt", "sub/doc.txt"]
    assert {s.rel: s.reason.split(":")[0] for s in skipped} == {
        "sub/loop": "symlink loop",
        "zz-link": "second link to a folder",
    }


def test_under_limits_discovery_to_a_part_of_the_source_with_the_same_ids(tree: Path) -> None:
    source = SourceConfig(path=str(tree), include=["**/*.md"])
    assert [f.doc_id for f in discover(source, tree.parent, under=tree / "guide")] == [
        "guide/deep/more/notes.md",
        "guide/intro.md",
    ]
    [single] = discover(source, tree.parent, under=tree / "guide" / "intro.md")
    assert single == FoundFile(path=tree / "guide" / "intro.md", doc_id="guide/intro.md", root=tree, metadata={})
    assert list(discover(source, tree.parent, under=tree / "a.txt")) == []  # not included
    assert list(discover(source, tree.parent, under=tree / "guide" / ".cache")) == []  # hidden
    assert [f.doc_id for f in discover(source, tree.parent, under=tree)] == ids(source, tree.parent)
    with pytest.raises(ConfigError, match="is not inside the source folder"):
        list(discover(source, tree.parent, under=tree.parent / "elsewhere"))


def test_broken_symlink_is_reported_not_dropped(tmp_path: Path) -> None:
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    assert ids(SourceConfig(path="."), tmp_path) == ["gone.txt"]


def test_order_is_deterministic_across_runs(tree: Path) -> None:
    source = SourceConfig(path=str(tree), include=["**/*"])
    assert ids(source, tree) == ids(source, tree)


def test_single_file_source(tree: Path) -> None:
    source = SourceConfig(path="docs/guide/intro.md", metadata={"team": "docs"}, include=["*.txt"])
    [found] = discover(source, tree.parent)
    assert found.doc_id == "intro.md"
    assert found.root == tree / "guide"
    assert found.metadata == {"team": "docs"}


def test_relative_path_resolves_against_base_dir(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree / "guide")
    found = list(discover(SourceConfig(path="docs", include=["*.md"]), tree.parent))
    assert [f.path for f in found] == [tree / "Z.md", tree / "b.md"]


def test_missing_path_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"source path 'nope/here' does not exist \(resolved to .*nope/here\)"):
        list(discover(SourceConfig(path="nope/here"), tmp_path))


def test_source_metadata_is_copied_per_file(tree: Path) -> None:
    found = list(discover(SourceConfig(path=str(tree), metadata={"team": "x"}), tree))
    assert all(f.metadata == {"team": "x"} for f in found)
    found[0].metadata["team"] = "changed"
    assert found[1].metadata == {"team": "x"}
