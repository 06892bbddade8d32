"""Loading discovered files: a mixed folder of good and bad files, metadata, hashes, limits."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ragpipe.config.models import SourceConfig
from ragpipe.errors import ConfigError, ParseError
from ragpipe.ingest.loader import DocumentLoadError, LoadedDocument, ParserSet, load_document, sha256_of
from ragpipe.ingest.sources import FoundFile, discover

MB = 1 << 20
SUPPORTED = ".docx, .htm, .html, .markdown, .md, .pdf, .text, .txt"


@pytest.fixture(scope="module")
def parsers() -> ParserSet:
    return ParserSet(types=("docx", "html", "markdown", "pdf", "text"))


@pytest.fixture
def mixed_folder(tmp_path: Path, make_docx: Callable[[Path], Path], make_pdf: Callable[..., Path]) -> Path:
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "guide.md").write_text("---\ntitle: Guide\nlang: de\n---\n# Heading\n\nSome guide text.\n")
    (root / "page.html").write_text("<html><head><title>Page</title></head><body><p>Hello web.</p></body></html>")
    (root / "notes.txt").write_text("plain notes\r\n")
    (root / "latin.txt").write_bytes("Le café est prêt.".encode("latin-1"))
    make_docx(root / "report.docx")
    make_pdf(root / "paper.pdf")
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj garbage without end")
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    return root


def load_all(root: Path, parsers: ParserSet) -> tuple[dict[str, LoadedDocument], dict[str, DocumentLoadError]]:
    loaded: dict[str, LoadedDocument] = {}
    errors: dict[str, DocumentLoadError] = {}
    for found in discover(SourceConfig(path=str(root)), root):
        try:
            loaded[found.doc_id] = load_document(found, {}, 10 * MB, parsers)
        except DocumentLoadError as exc:
            errors[found.doc_id] = exc
    return loaded, errors


def test_mixed_folder(mixed_folder: Path, parsers: ParserSet) -> None:
    loaded, errors = load_all(mixed_folder, parsers)
    assert sorted(loaded) == ["guide.md", "latin.txt", "notes.txt", "page.html", "paper.pdf", "report.docx"]
    assert {doc_id: (e.reason, e.skipped) for doc_id, e in errors.items() if doc_id != "corrupt.pdf"} == {
        "empty.txt": ("empty file", False),
        "binary.txt": ("binary content in a .txt file (contains NUL bytes)", False),
        "image.png": (f"unsupported file type .png (supported: {SUPPORTED})", True),
    }
    corrupt = errors["corrupt.pdf"]
    assert corrupt.reason.startswith("corrupt or unreadable PDF") and not corrupt.skipped
    assert str(corrupt).startswith(f"{mixed_folder / 'corrupt.pdf'}: corrupt")
    assert isinstance(corrupt, ParseError)
    assert loaded["latin.txt"].document.text == "Le café est prêt."
    assert loaded["notes.txt"].document.text == "plain notes\n"
    assert loaded["guide.md"].document.text == "# Heading\n\nSome guide text.\n"
    assert loaded["page.html"].document.text == "Hello web."
    assert loaded["paper.pdf"].document.metadata["page_starts"] == [0, 27]
    assert loaded["report.docx"].document.text.startswith("# Overview\n\n")
    titles = {doc_id: doc.document.metadata["title"] for doc_id, doc in loaded.items()}
    assert titles == {
        "guide.md": "Guide",
        "latin.txt": "latin",
        "notes.txt": "notes",
        "page.html": "Page",
        "paper.pdf": "Enzyme Study",
        "report.docx": "Quarterly Report",
    }


def test_system_metadata_and_precedence(mixed_folder: Path, parsers: ParserSet) -> None:
    path = mixed_folder / "guide.md"
    found = FoundFile(path=path, doc_id="sub/guide.md", root=mixed_folder, metadata={"team": "source", "year": 2024})
    static = {"team": "static", "lang": "en", "title": "static title", "doc_id": "wrong", "owner": "ops"}
    loaded = load_document(found, static, MB, parsers)
    data = path.read_bytes()
    assert loaded.sha256 == hashlib.sha256(data).hexdigest() == sha256_of(path)
    assert loaded.document.id == "sub/guide.md"
    assert loaded.document.metadata == {
        "team": "source",
        "year": 2024,
        "lang": "de",
        "owner": "ops",
        "encoding": "utf-8",
        "doc_id": "sub/guide.md",
        "source": str(path),
        "title": "Guide",
        "mtime": os.stat(path).st_mtime,
        "sha256": loaded.sha256,
        "file_type": "md",
        "size_bytes": len(data),
    }


def test_too_large_and_no_text(tmp_path: Path, parsers: ParserSet) -> None:
    big = tmp_path / "big.txt"
    big.write_text("x" * 2000)
    with pytest.raises(DocumentLoadError, match="file too large: 2000 bytes > limit of 1000 bytes"):
        load_document(FoundFile(big, "big.txt", tmp_path), {}, 1000, parsers)
    only_front_matter = tmp_path / "meta.md"
    only_front_matter.write_text("---\ntitle: Nothing here\n---\n\n   \n")
    with pytest.raises(DocumentLoadError, match="no text extracted") as info:
        load_document(FoundFile(only_front_matter, "meta.md", tmp_path), {}, MB, parsers)
    assert info.value.skipped is False


def test_missing_file_and_file_without_extension(tmp_path: Path, parsers: ParserSet) -> None:
    with pytest.raises(DocumentLoadError, match="file not found") as info:
        load_document(FoundFile(tmp_path / "gone.txt", "gone.txt", tmp_path), {}, MB, parsers)
    assert not info.value.skipped
    (tmp_path / "Makefile").write_text("all:\n")
    with pytest.raises(DocumentLoadError, match=r"unsupported file type \(no extension\)") as info:
        load_document(FoundFile(tmp_path / "Makefile", "Makefile", tmp_path), {}, MB, parsers)
    assert info.value.skipped


def test_uppercase_extension_is_supported(tmp_path: Path, parsers: ParserSet) -> None:
    path = tmp_path / "README.TXT"
    path.write_text("read me")
    loaded = load_document(FoundFile(path, "README.TXT", tmp_path), {}, MB, parsers)
    assert loaded.document.metadata["file_type"] == "txt"


def test_parser_set_from_registry_and_its_errors() -> None:
    every = ParserSet()
    assert set(every.extensions) >= set(SUPPORTED.split(", "))
    with pytest.raises(ConfigError, match=r"parsers 'text' and 'text' both handle '\.txt'"):
        _ = ParserSet(types=("text", "text")).extensions
    with pytest.raises(ConfigError, match="unknown parser type 'nope'; registered parser types: docx, html"):
        _ = ParserSet(types=("nope",)).extensions


def test_parser_set_reads_each_parsers_settings_from_the_parsing_section(tmp_path: Path) -> None:
    from ragpipe.config.loading import load_config

    path = tmp_path / "notes.md"
    path.write_text("# First heading\n\nBody text.\n")
    found = FoundFile(path, "notes.md", tmp_path)
    config = load_config({"parsing": {"markdown": {"title_from_heading": False}}})
    assert load_document(found, {}, MB, ParserSet(config.parsing)).document.metadata["title"] == "notes"
    assert load_document(found, {}, MB, ParserSet(load_config({}).parsing)).document.metadata["title"] == (
        "First heading"
    )
    assert load_document(found, {}, MB, ParserSet()).document.metadata["title"] == "First heading"  # defaults


def test_invalid_max_bytes(tmp_path: Path, parsers: ParserSet) -> None:
    with pytest.raises(ConfigError, match="max_bytes must be >= 1"):
        load_document(FoundFile(tmp_path / "a.txt", "a.txt", tmp_path), {}, 0, parsers)
