"""Fixtures for the ingest tests: builders for tiny .docx / .pdf files."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

CREATED = dt.datetime(2023, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def make_docx() -> Callable[[Path], Path]:
    """Write a small Word document with headings, a list, a paragraph and core properties."""

    def build(path: Path) -> Path:
        import docx

        document = docx.Document()
        props = document.core_properties
        props.title, props.author, props.subject = "Quarterly Report", "Ada Lovelace", "Finance"
        props.keywords, props.category, props.created = "budget, q3", "reports", CREATED
        document.add_heading("Overview", level=1)
        document.add_paragraph("The budget was approved by the board in March.")
        document.add_heading("Risks", level=2)
        document.add_paragraph("currency exposure", style="List Bullet")
        document.add_paragraph("supplier delays", style="List Bullet")
        document.save(path)
        return path

    return build


@pytest.fixture
def make_pdf() -> Callable[..., Path]:
    """Write a PDF with one page per text (``None``: a page with only a drawing, no text)."""

    def build(
        path: Path,
        pages: Sequence[str | None] = ("First page about enzymes.", "Second page about proteins."),
        info: dict[str, str] | None = None,
        password: str | None = None,
    ) -> Path:
        from fpdf import FPDF
        from fpdf.enums import EncryptionMethod

        pdf = FPDF()
        pdf.set_title("Enzyme Study")
        pdf.set_author("Grace Hopper")
        pdf.set_subject("Biology")
        pdf.set_keywords("enzymes, kinetics")
        pdf.set_creation_date(CREATED)
        if password is not None:
            pdf.set_encryption(owner_password="owner", user_password=password, encryption_method=EncryptionMethod.RC4)
        pdf.set_font("helvetica", size=12)
        for text in pages:
            pdf.add_page()
            if text is None:
                pdf.rect(20, 20, 50, 30)
            else:
                pdf.multi_cell(0, 10, text)
        data = bytes(pdf.output())
        if info:
            from pypdf import PdfReader, PdfWriter

            writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
            writer.add_metadata(info)
            buffer = io.BytesIO()
            writer.write(buffer)
            data = buffer.getvalue()
        path.write_bytes(data)
        return path

    return build
