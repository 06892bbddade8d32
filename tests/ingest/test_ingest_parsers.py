"""Each parser on tiny real files: text, metadata and the errors it raises."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

import pytest

from ragpipe.errors import ParseError
from ragpipe.ingest.parsers import render_elements, yaml_scalar
from ragpipe.ingest.parsers.docx import DocxParser, DocxParserConfig
from ragpipe.ingest.parsers.html import HtmlParser, HtmlParserConfig
from ragpipe.ingest.parsers.markdown import MarkdownParser, MarkdownParserConfig
from ragpipe.ingest.parsers.pdf import PdfParser, PdfParserConfig
from ragpipe.ingest.parsers.text import TextParser, TextParserConfig

TEXT = TextParser(TextParserConfig())
MARKDOWN = MarkdownParser(MarkdownParserConfig())
HTML = HtmlParser(HtmlParserConfig())
DOCX = DocxParser(DocxParserConfig())
PDF = PdfParser(PdfParserConfig())


# --- text -------------------------------------------------------------------------------------


def test_text_utf8_bom_and_crlf() -> None:
    text, meta = TEXT.parse(Path("a.txt"), codecs.BOM_UTF8 + "Grüße\r\nzweite Zeile\r\n".encode())
    assert text == "Grüße\nzweite Zeile\n"
    assert meta == {"encoding": "utf-8"}


def test_text_latin1_cafe_decodes() -> None:
    text, meta = TEXT.parse(Path("a.txt"), "café".encode("latin-1"))
    assert text == "café"
    assert meta["encoding"] == "cp1252"


def test_text_detects_non_western_encoding() -> None:
    russian = "Привет, как дела? Это тестовый текст на русском языке."
    text, meta = TEXT.parse(Path("ru.txt"), russian.encode("cp1251"))
    assert text == russian
    assert meta["encoding"] == "cp1251"


def test_text_utf16_with_bom() -> None:
    text, meta = TEXT.parse(Path("w.txt"), "hello\r\nworld".encode("utf-16"))
    assert (text, meta["encoding"]) == ("hello\nworld", "utf-16")


@pytest.mark.parametrize("data", [b"abc\x00def", bytes(range(1, 9)) * 20 + b"some text"])
def test_text_binary_is_rejected(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"binary content in a \.txt file"):
        TEXT.parse(Path("x.txt"), data)


# --- markdown ---------------------------------------------------------------------------------

MD_BODY = "# Install Guide\n\nRun `make`.\n\n## Linux\n\nUse apt.\n"


def test_markdown_front_matter_and_verbatim_body() -> None:
    front = "---\ntitle: Setup\ndate: 2024-03-01\ntags: [ops, linux]\n"
    front += "owner:\n  team: platform\n  since: 2021-01-02\n---\n"
    text, meta = MARKDOWN.parse(Path("g.md"), (front + MD_BODY).encode())
    assert text == MD_BODY
    assert meta["title"] == "Setup"
    assert meta["date"] == "2024-03-01"
    assert meta["tags"] == ["ops", "linux"]
    assert meta["owner"] == {"team": "platform", "since": "2021-01-02"}


def test_markdown_title_from_first_h1_outside_code() -> None:
    body = "```\n# not a title\n```\n\nIntro\n\n# Real Title\n\ntext\n"
    text, meta = MARKDOWN.parse(Path("g.md"), body.encode())
    assert text == body
    assert meta["title"] == "Real Title"
    _, setext = MARKDOWN.parse(Path("s.md"), b"Setext Title\n============\n\nbody\n")
    assert setext["title"] == "Setext Title"


def test_markdown_without_front_matter_keeps_everything() -> None:
    text, meta = MARKDOWN.parse(Path("g.md"), MD_BODY.replace("\n", "\r\n").encode())
    assert text == MD_BODY
    assert meta["title"] == "Install Guide"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("---\ntitle: [unclosed\n---\nbody\n", "malformed YAML front matter"),
        ("---\ntitle: x\nbody without end\n", "no closing '---'"),
        ("---\n- a\n- b\n---\nbody\n", "must be a YAML mapping"),
    ],
)
def test_markdown_bad_front_matter(source: str, problem: str) -> None:
    with pytest.raises(ParseError, match=problem):
        MARKDOWN.parse(Path("bad.md"), source.encode())


# --- html -------------------------------------------------------------------------------------

HTML_DOC = """<!DOCTYPE html><html><head><title>Release  Notes</title>
<meta name="year" content="2023"><meta name="keywords" content="api, cli">
<meta name="Draft" content="false"><meta name="robots" content="no"></head>
<body><h1>Main</h1><p>This release improves the indexing speed.</p>
<h2>Changes</h2><ul><li>faster ingest</li><li>new filters</li></ul>
<h3>Details</h3><p>See the documentation for more.</p></body></html>"""


def test_html_renders_structure_and_reads_head_metadata() -> None:
    text, meta = HTML.parse(Path("notes.html"), HTML_DOC.encode())
    assert text == (
        "# Main\n\nThis release improves the indexing speed.\n\n## Changes\n\n- faster ingest\n\n"
        "- new filters\n\n### Details\n\nSee the documentation for more."
    )
    assert meta["title"] == "Release Notes"
    assert meta["year"] == 2023
    assert meta["keywords"] == "api, cli"
    assert meta["draft"] is False
    assert meta["robots"] == "no"


def test_html_declared_legacy_charset() -> None:
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>Le café est très bon.</p></body></html>'
    text, meta = HTML.parse(Path("fr.htm"), page.encode("latin-1"))
    assert text == "Le café est très bon."
    assert meta["encoding"] == "iso8859-1"
    assert "title" not in meta


def test_yaml_scalar_rules() -> None:
    assert yaml_scalar("2023") == 2023
    assert yaml_scalar("2.5") == 2.5
    assert yaml_scalar("2024-01-31") == "2024-01-31"
    assert yaml_scalar("a, b") == "a, b"
    assert yaml_scalar("[1, 2]") == "[1, 2]"
    assert yaml_scalar("yes") == "yes"
    assert yaml_scalar("TRUE") is True


def test_render_elements_depth_and_kinds() -> None:
    from unstructured.documents.elements import ElementMetadata, ListItem, NarrativeText, Title

    elements = [
        Title("Top", metadata=ElementMetadata(category_depth=0)),
        Title("No depth"),
        Title("Second", metadata=ElementMetadata(category_depth=1)),
        Title("Deep", metadata=ElementMetadata(category_depth=9)),
        ListItem("item"),
        NarrativeText("Body text."),
        NarrativeText("   "),
    ]
    assert render_elements(elements) == "# Top\n\n# No depth\n\n## Second\n\n###### Deep\n\n- item\n\nBody text."


# --- docx -------------------------------------------------------------------------------------


def test_docx_text_and_core_properties(tmp_path: Path, make_docx) -> None:
    path = make_docx(tmp_path / "report.docx")
    text, meta = DOCX.parse(path, path.read_bytes())
    assert text == (
        "# Overview\n\nThe budget was approved by the board in March.\n\n## Risks\n\n"
        "- currency exposure\n\n- supplier delays"
    )
    assert meta["title"] == "Quarterly Report"
    assert meta["author"] == "Ada Lovelace"
    assert meta["subject"] == "Finance"
    assert meta["keywords"] == "budget, q3"
    assert meta["category"] == "reports"
    assert meta["created"] == "2023-05-01T12:00:00+00:00"
    assert isinstance(meta["modified"], str)


def test_docx_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r"not a valid \.docx"):
        DOCX.parse(tmp_path / "junk.docx", b"this is not a zip file")
    archive = tmp_path / "other.docx"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("hello.txt", "not word")
    with pytest.raises(ParseError, match=r"not a valid \.docx"):
        DOCX.parse(archive, archive.read_bytes())


# --- pdf --------------------------------------------------------------------------------------


def test_pdf_pages_offsets_and_metadata(tmp_path: Path, make_pdf) -> None:
    path = make_pdf(tmp_path / "study.pdf", info={"/Department": "Physics", "/Year": "2021"})
    text, meta = PDF.parse(path, path.read_bytes())
    assert text == "First page about enzymes.\n\nSecond page about proteins."
    assert meta["pages"] == 2
    assert meta["page_starts"] == [0, len("First page about enzymes.\n\n")]
    assert text[meta["page_starts"][1] :].startswith("Second page")
    assert meta["title"] == "Enzyme Study"
    assert meta["author"] == "Grace Hopper"
    assert meta["subject"] == "Biology"
    assert meta["keywords"] == "enzymes, kinetics"
    assert meta["created"] == "2023-05-01T12:00:00+00:00"
    assert meta["department"] == "Physics"
    assert meta["year"] == 2021


def test_pdf_errors(tmp_path: Path, make_pdf) -> None:
    with pytest.raises(ParseError, match="corrupt or unreadable PDF"):
        PDF.parse(tmp_path / "bad.pdf", b"%PDF-1.4\nthis is not really a pdf")
    good = make_pdf(tmp_path / "good.pdf").read_bytes()
    with pytest.raises(ParseError, match="corrupt or unreadable PDF"):
        PDF.parse(tmp_path / "cut.pdf", good[: len(good) // 3])
    locked = make_pdf(tmp_path / "locked.pdf", password="secret")
    with pytest.raises(ParseError, match="encrypted PDF"):
        PDF.parse(locked, locked.read_bytes())
    scanned = make_pdf(tmp_path / "scan.pdf", pages=(None, None))
    with pytest.raises(ParseError, match=r"no extractable text \(scanned PDF\? OCR is not supported\)"):
        PDF.parse(scanned, scanned.read_bytes())
