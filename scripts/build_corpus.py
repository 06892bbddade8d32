"""Build the binary part of the bundled corpus and the folder of broken inputs.

The Lumen Freight handbook under ``corpora/handbook`` is mostly hand-written Markdown, HTML and
plain text. Its PDF and DOCX documents are generated here from the source text kept in
``SOURCES`` at the end of this script, so they can be reviewed and rebuilt byte for byte:

    .venv/bin/python scripts/build_corpus.py            # (re)write PDFs, DOCX files, corpora/bad/
    .venv/bin/python scripts/build_corpus.py --check    # exit 1 if a generated file is out of date

Both modes then validate every handbook document (metadata fields, 300-1,200 words, format
counts) and print a summary table. Outputs are deterministic: fixed creation dates in the PDF
info dictionary and DOCX core properties, and fixed timestamps inside the DOCX zip.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import re
import sys
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO / "corpora"
HANDBOOK = CORPORA / "handbook"
BAD = CORPORA / "bad"

TEAMS = ("platform", "security", "data", "support")
TOP_LEVEL_TEAM = "engineering"
DOC_TYPES = ("runbook", "policy", "postmortem", "adr", "guide", "faq", "reference")
STATUSES = ("active", "deprecated", "superseded")
MIN_WORDS, MAX_WORDS = 300, 1200
MIN_DOCS, MAX_DOCS = 34, 40
MIN_PER_FORMAT = 4
CREATOR = "ragpipe scripts/build_corpus.py"

Block = tuple[str, object]


@dataclass(frozen=True)
class SourceDoc:
    """One generated document: where it goes, its metadata, and its body in a tiny markup."""

    path: str  # relative to corpora/handbook; the suffix (.pdf or .docx) selects the renderer
    title: str
    team: str
    doc_type: str
    year: int
    status: str
    tags: tuple[str, ...]
    owner: str
    summary: str  # one line; becomes the PDF/DOCX subject
    date: str  # ISO date of the revision; fixed creation/modification date of the file
    body: str
    severity: str | None = None


# ---------------------------------------------------------------- source text -> blocks


def parse_blocks(body: str) -> list[Block]:
    """Split the small markup used in the sources into blocks.

    ``## `` heading, ``- `` bullet, ``1. `` numbered item, ``|`` table rows (first row is the
    header, ``|---|`` rows are ignored), fenced ``` code; other lines join into paragraphs.
    A line indented by two spaces continues the previous list item.
    """
    blocks: list[Block] = []
    paragraph: list[str] = []
    lines = body.strip("\n").splitlines()

    def flush() -> None:
        if paragraph:
            blocks.append(("p", " ".join(paragraph)))
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index].rstrip()
        if line.startswith("```"):
            flush()
            code: list[str] = []
            index += 1
            while not lines[index].startswith("```"):
                code.append(lines[index].rstrip())
                index += 1
            blocks.append(("code", "\n".join(code)))
        elif not line:
            flush()
        elif line.startswith("## "):
            flush()
            blocks.append(("h2", line[3:]))
        elif line.startswith("- "):
            flush()
            blocks.append(("bullet", line[2:]))
        elif re.match(r"\d+\. ", line):
            flush()
            number, text = line.split(". ", 1)
            blocks.append(("number", f"{number}. {text}"))
        elif line.startswith("|"):
            flush()
            rows: list[list[str]] = []
            while index < len(lines) and lines[index].startswith("|"):
                cells = [cell.strip() for cell in lines[index].strip().strip("|").split("|")]
                if not all(set(cell) <= {"-", ":"} for cell in cells):
                    rows.append(cells)
                index += 1
            blocks.append(("table", rows))
            continue
        elif line.startswith("  ") and not paragraph and blocks and blocks[-1][0] in ("bullet", "number"):
            kind, text = blocks[-1]
            blocks[-1] = (kind, f"{text} {line.strip()}")
        else:
            paragraph.append(line.strip())
        index += 1
    flush()
    return blocks


def keywords(doc: SourceDoc) -> str:
    """``key=value`` pairs separated by spaces: the structured metadata of PDF and DOCX files."""
    pairs = [f"team={doc.team}", f"doc_type={doc.doc_type}", f"year={doc.year}", f"status={doc.status}"]
    if doc.severity:
        pairs.append(f"severity={doc.severity}")
    pairs.append("tags=" + ",".join(doc.tags))
    return " ".join(pairs)


def doc_datetime(doc: SourceDoc) -> dt.datetime:
    return dt.datetime.fromisoformat(doc.date).replace(hour=9, tzinfo=dt.UTC)


# ---------------------------------------------------------------- PDF


def render_pdf(doc: SourceDoc) -> bytes:
    """A PDF (fpdf2 core fonts) with title, subject, author, keywords and custom info fields."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos
    from pypdf import PdfReader, PdfWriter

    for text in (doc.title, doc.body, doc.owner, doc.summary):
        try:
            text.encode("latin-1")
        except UnicodeEncodeError as error:
            bad = text[error.start : error.end]
            raise SystemExit(f"{doc.path}: character {bad!r} is not latin-1; PDF core fonts cannot render it") from None

    class HandbookPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, f"Lumen Freight engineering handbook - page {self.page_no()}", align="C")

    pdf = HandbookPDF(format="A4")
    pdf.set_creation_date(doc_datetime(doc))
    pdf.set_title(doc.title)
    pdf.set_subject(doc.summary)
    pdf.set_author(doc.owner)
    pdf.set_keywords(keywords(doc))
    pdf.set_creator(CREATOR)
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def write(text: str, size: float, style: str = "", family: str = "Helvetica", indent: float = 0) -> None:
        pdf.set_font(family, style, size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(width - indent, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    write(doc.title, 16, "B")
    pdf.ln(3)
    for kind, content in parse_blocks(doc.body):
        if kind == "h2":
            if pdf.will_page_break(25):  # keep a heading with the start of its section
                pdf.add_page()
            pdf.ln(2)
            write(str(content), 12.5, "B")
            pdf.ln(1)
        elif kind == "p":
            write(plain(str(content)), 10.5)
            pdf.ln(2)
        elif kind == "bullet":
            write("- " + plain(str(content)), 10.5, indent=4)
            pdf.ln(0.8)
        elif kind == "number":
            write(plain(str(content)), 10.5, indent=4)
            pdf.ln(0.8)
        elif kind == "code":
            write(str(content), 9, family="Courier", indent=4)
            pdf.ln(2)
        elif kind == "table":
            rows = [[plain(cell) for cell in row] for row in content]  # type: ignore[union-attr]
            pdf.set_font("Helvetica", size=9)
            with pdf.table(
                col_widths=column_widths(pdf, rows, width), text_align="LEFT", line_height=4.6, width=width
            ) as table:
                for row in rows:
                    table_row = table.row()
                    for cell in row:
                        table_row.cell(cell)
            pdf.ln(2)
    raw = bytes(pdf.output())

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    custom = {
        "/Team": doc.team,
        "/DocType": doc.doc_type,
        "/Year": str(doc.year),
        "/Status": doc.status,
        "/Tags": ",".join(doc.tags),
        "/Owner": doc.owner,
    }
    if doc.severity:
        custom["/Severity"] = doc.severity
    writer.add_metadata(custom)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def column_widths(pdf: object, rows: list[list[str]], total: float) -> list[float]:
    """Column widths (mm) that keep short columns on one line and share the rest by content width."""
    padding = 4.0
    natural = [max(pdf.get_string_width(row[i]) for row in rows) + padding for i in range(len(rows[0]))]  # type: ignore[attr-defined]
    if sum(natural) <= total:
        return [w * total / sum(natural) for w in natural]
    short = [w <= total / (2 * len(natural)) + padding for w in natural]
    fixed = sum(w for w, is_short in zip(natural, short, strict=True) if is_short)
    flexible = sum(w for w, is_short in zip(natural, short, strict=True) if not is_short)
    return [w if is_short else w * (total - fixed) / flexible for w, is_short in zip(natural, short, strict=True)]


def plain(text: str) -> str:
    """Drop the inline code markers used in the sources."""
    return text.replace("`", "")


# ---------------------------------------------------------------- DOCX


def render_docx(doc: SourceDoc) -> bytes:
    """A DOCX with Heading 1/2 styles, bullet lists, tables and filled core properties."""
    import docx
    from docx.shared import Pt

    document = docx.Document()
    props = document.core_properties
    props.title = doc.title
    props.subject = doc.summary
    props.author = doc.owner
    props.keywords = keywords(doc)
    props.category = doc.doc_type
    props.content_status = doc.status
    props.comments = "Lumen Freight engineering handbook, written for ragpipe (Apache-2.0)"
    props.language = "en-US"
    props.last_modified_by = doc.owner
    props.revision = 1
    stamp = doc_datetime(doc).replace(tzinfo=None)
    props.created = stamp
    props.modified = stamp
    props.last_printed = stamp

    document.add_heading(doc.title, level=1)
    for kind, content in parse_blocks(doc.body):
        if kind == "h2":
            document.add_heading(str(content), level=2)
        elif kind == "p":
            document.add_paragraph(plain(str(content)))
        elif kind == "bullet":
            document.add_paragraph(plain(str(content)), style="List Bullet")
        elif kind == "number":
            document.add_paragraph(plain(str(content)), style="List Paragraph")
        elif kind == "code":
            run = document.add_paragraph().add_run(str(content))
            run.font.name = "Courier New"
            run.font.size = Pt(9)
        elif kind == "table":
            rows = content  # type: ignore[assignment]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))  # type: ignore[arg-type]
            table.style = "Table Grid"
            for r, row in enumerate(rows):  # type: ignore[arg-type]
                for c, cell_text in enumerate(row):
                    cell = table.cell(r, c)
                    cell.text = plain(cell_text)
                    if r == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
    buffer = io.BytesIO()
    document.save(buffer)
    return fixed_zip(buffer.getvalue(), (doc.year, 1, 1, 0, 0, 0))


def fixed_zip(data: bytes, stamp: tuple[int, int, int, int, int, int]) -> bytes:
    """Rewrite a zip with one fixed timestamp on every entry, so rebuilds are byte-identical."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


# ---------------------------------------------------------------- corpora/bad


GOOD_MD = """---
title: Joliet Cross-Dock Hours
team: support
doc_type: reference
year: 2025
status: active
tags: [demo, cross-dock]
owner: Owen Brennan
---

# Joliet Cross-Dock Hours

The Joliet cross-dock accepts inbound trailers Monday to Saturday from 05:00 to 21:00 Central.
Drivers must check in at gate 3 with the shipment ID (SHP- followed by 10 digits). Trailers that
arrive after 21:00 are parked in the overflow yard and unloaded from 05:00 the next morning.
"""

LATIN1_TEXT = """Entrep\xf4t de Montr\xe9al - notes de r\xe9ception (encodage ISO-8859-1)

Les transporteurs livrent a l'entrepot de Montr\xe9al du lundi au vendredi. Le r\xe9ceptionnaire
v\xe9rifie la fa\xe7ade des palettes, note les d\xe9g\xe2ts \xe9ventuels et signe le bon de livraison.
Caf\xe9 cr\xe8me offert aux chauffeurs; d\xe9j\xe0 vu: m\xeame quai, m\xeame heure.
Mots accentu\xe9s: na\xefve, \xfcber, Z\xfcrich, se\xf1or, \xc5ngstr\xf6m, co\xf6perate, pi\xf1ata.
"""


def bad_files() -> dict[str, bytes]:
    """Deliberately broken inputs for demos and tests (plus one good file)."""
    sample = next(doc for doc in SOURCES if doc.path.endswith(".pdf"))
    full_pdf = render_pdf(sample)
    rng = random.Random(20240619)
    binary = bytearray(rng.randbytes(4096))
    binary[0:4] = b"\x00\x00\x00\x00"
    binary[2048:2052] = b"\x00\xff\x00\xfe"
    return {
        "corrupt.pdf": full_pdf[: len(full_pdf) // 3],
        "empty.md": b"",
        "binary.txt": bytes(binary),
        "latin1.txt": LATIN1_TEXT.encode("latin-1"),
        "good.md": GOOD_MD.encode("utf-8"),
    }


# ---------------------------------------------------------------- reading back every format


class _HTMLReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.title = ""
        self.body: list[str] = []
        self._where: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = dict(attrs)
            if values.get("name") and values.get("content") is not None:
                self.meta[str(values["name"])] = str(values["content"])
        else:
            self._where.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._where:
            while self._where and self._where.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "title" in self._where:
            self.title += data
        elif "body" in self._where:
            self.body.append(data)


def read_document(path: Path) -> tuple[dict[str, object], str]:
    """Metadata and text of one handbook file, read from the format's native place."""
    suffix = path.suffix.lower()
    if suffix == ".md":
        import yaml

        text = path.read_text(encoding="utf-8")
        match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
        if not match:
            return {}, text
        return dict(yaml.safe_load(match.group(1))), text[match.end() :]
    if suffix in (".html", ".htm"):
        reader = _HTMLReader()
        reader.feed(path.read_text(encoding="utf-8"))
        meta: dict[str, object] = {"title": reader.title.strip(), **reader.meta}
        if "year" in meta:
            meta["year"] = int(str(meta["year"]))
        meta["tags"] = [t.strip() for t in str(meta.get("tags", "")).split(",") if t.strip()]
        return meta, " ".join(reader.body)
    if suffix == ".pdf":
        from pypdf import PdfReader

        pdf = PdfReader(path)
        info = pdf.metadata or {}
        meta = {
            "title": info.get("/Title"),
            "team": info.get("/Team"),
            "doc_type": info.get("/DocType"),
            "year": int(str(info.get("/Year", "0"))),
            "status": info.get("/Status"),
            "tags": str(info.get("/Tags", "")).split(","),
            "owner": info.get("/Author"),
        }
        return meta, "\n".join(page.extract_text() for page in pdf.pages)
    if suffix == ".docx":
        import docx

        document = docx.Document(str(path))
        props = document.core_properties
        pairs = dict(item.split("=", 1) for item in props.keywords.split())
        meta = {
            "title": props.title,
            "team": pairs.get("team"),
            "doc_type": props.category,
            "year": int(pairs.get("year", "0")),
            "status": props.content_status,
            "tags": pairs.get("tags", "").split(","),
            "owner": props.author,
        }
        parts = [p.text for p in document.paragraphs]
        parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
        return meta, "\n".join(parts)
    relative = path.relative_to(HANDBOOK)
    team = relative.parts[0] if len(relative.parts) > 1 and relative.parts[0] in TEAMS else TOP_LEVEL_TEAM
    return {"team": team}, path.read_text(encoding="utf-8")


def validate(path: Path, meta: dict[str, object], words: int) -> list[str]:
    """Problems with one document: missing or invalid metadata, too few or too many words."""
    name = path.relative_to(HANDBOOK).as_posix()
    problems = []
    if not MIN_WORDS <= words <= MAX_WORDS:
        problems.append(f"{name}: {words} words, expected {MIN_WORDS}-{MAX_WORDS}")
    if path.suffix == ".txt":
        return problems
    expected_team = path.relative_to(HANDBOOK).parts[0] if len(path.relative_to(HANDBOOK).parts) > 1 else TOP_LEVEL_TEAM
    checks = {
        "title": bool(meta.get("title")),
        "team": meta.get("team") == expected_team,
        "doc_type": meta.get("doc_type") in DOC_TYPES,
        "year": isinstance(meta.get("year"), int) and 2015 <= int(meta["year"]) <= 2026,  # type: ignore[call-overload]
        "status": meta.get("status") in STATUSES,
        "tags": bool(meta.get("tags")) and all(meta["tags"]),  # type: ignore[arg-type]
        "owner": bool(meta.get("owner")),
    }
    problems += [f"{name}: bad or missing {field}: {meta.get(field)!r}" for field, ok in checks.items() if not ok]
    return problems


# ---------------------------------------------------------------- main


def generated_files() -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    for doc in SOURCES:
        render = render_pdf if doc.path.endswith(".pdf") else render_docx
        files[HANDBOOK / doc.path] = render(doc)
    for name, data in bad_files().items():
        files[BAD / name] = data
    return files


def summarize() -> int:
    """Validate every handbook document and print the summary table; returns the problem count."""
    paths = sorted(p for p in HANDBOOK.rglob("*") if p.is_file())
    problems: list[str] = []
    rows = []
    for path in paths:
        meta, text = read_document(path)
        words = len(text.split())
        problems += validate(path, meta, words)
        name = path.relative_to(HANDBOOK).as_posix()
        rows.append(
            (
                name,
                path.suffix[1:],
                str(words),
                str(meta.get("team", "")),
                str(meta.get("doc_type", "-")),
                str(meta.get("year", "-")),
            )
        )
    header = ("file", "format", "words", "team", "doc_type", "year")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    formats: dict[str, int] = {}
    for row in rows:
        formats[row[1]] = formats.get(row[1], 0) + 1
    total_words = sum(int(row[2]) for row in rows)
    counts = ", ".join(f"{fmt}={n}" for fmt, n in sorted(formats.items()))
    print(f"\n{len(rows)} documents, {total_words} words ({counts})")
    if not MIN_DOCS <= len(rows) <= MAX_DOCS:
        problems.append(f"{len(rows)} documents, expected {MIN_DOCS}-{MAX_DOCS}")
    problems += [
        f"only {n} .{fmt} files, expected {MIN_PER_FORMAT}+" for fmt, n in formats.items() if n < MIN_PER_FORMAT
    ]
    if (HANDBOOK / "README.md").exists() or any(p.name.lower().startswith("readme") for p in paths):
        problems.append("a README inside corpora/handbook would be ingested as a document")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return len(problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; fail if a generated file differs")
    args = parser.parse_args(argv)
    stale = []
    for path, data in generated_files().items():
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.relative_to(REPO).as_posix())
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for name in stale:
        print(f"STALE: {name} (run scripts/build_corpus.py)", file=sys.stderr)
    return 1 if (summarize() or stale) else 0


# ---------------------------------------------------------------- sources of the PDF and DOCX files
# Markup: "## " heading, "- " bullet, "1. " numbered item, "|" table rows, ``` code fences, and
# paragraphs. ASCII only: PDF core fonts cover latin-1, and plain ASCII keeps both formats equal.

RATE_ENGINE_POSTMORTEM = """
- Date: 2025-01-28
- Severity: SEV2 (estimated financial impact between $25,000 and $250,000)
- Duration of customer impact: 38 minutes (13:02 to 13:40 Central)
- Incident Commander: Marcus Reid
- Postmortem owner: Nadia Petrova (engineering manager, Pricing squad)
- Incident channel: #inc-20250128-rate-flag (Flare ID FLR-1874)

## Summary

A Pricing engineer meant to turn on the feature flag rate-engine.ml-pricing-v3 at 100% in
staging. The Switchyard UI pre-selected the environment the user had viewed last, which was
prod, so the new pricing model went to 100% of production quotes at once. The v3 model applied
its fuel surcharge table, which is expressed per kilometre, to lane distances stored in miles.
Quotes came out on average 18% below the correct price until the flag was turned off.

## Impact

- 2,316 quotes were issued with the wrong price; 412 of them were booked (tendered) before the
  flag was turned off.
- Finance decided to honour all 412 booked quotes. The estimated revenue impact, the difference
  between the quoted and the correct price on booked loads, is $41,700.
- Availability and latency of rate-engine were normal; the contractual SLA was not affected and
  no service credits were owed.
- Customers were not contacted, since the error was in their favour.

## Timeline (Central time)

| Time | Event |
|---|---|
| 13:02 | Flag rate-engine.ml-pricing-v3 set from 0% to 100% in prod instead of staging |
| 13:09 | Metric lf_rate_engine_quote_margin_ratio drops from about 1.00 to 0.82 |
| 13:24 | QuoteMarginAnomaly alert fires (ratio below 0.85 for 15 minutes); pricing-primary paged |
| 13:27 | Diego Alvarez (pricing-primary) acknowledges |
| 13:31 | Switchyard audit log shows the 13:02 change |
| 13:33 | SEV2 declared because the financial impact was estimated above $25,000; Marcus Reid is IC |
| 13:40 | Flag set to 0% in prod; quotes return to the v2 model |
| 13:55 | Margin ratio back to normal for 15 minutes |
| 14:10 | Incident resolved |

The flag was turned off with:

```
switchyard set rate-engine.ml-pricing-v3 --env prod --percent 0
```

## Severity

The incident had no availability impact, so before the 2024 revision of the severity policy it
would have been rated SEV3 at most. The Incident Severity Levels policy (2024) rates incidents by
financial impact as well: between $25,000 and $250,000 is at least SEV2. The IC confirmed SEV2 at 13:33, which
required a postmortem within 10 business days.

## Root cause

Three things had to go wrong together:

1. The Switchyard UI defaulted the environment selector to the last environment viewed, and the
   CLI defaulted to prod when --env was missing.
2. Nothing stopped a production flag from going from 0% to 100% in one step; the recommended
   1%, 10%, 50% rollout recipe was guidance only.
3. The v3 model's unit bug was invisible in staging, where lanes use a synthetic data set with a
   flat fuel surcharge.

## Contributing factors

- The QuoteMarginAnomaly alert needed 15 minutes below the threshold before firing.
- The flag change was posted only to #eng-flags, which the on-call engineer did not watch.
- Rolling back the latest rate-engine release would not have helped; the first minutes were spent
  checking the deploy history in Conveyor.

## What went well

- Once the cause was known, turning the flag off took effect within 30 seconds, the SDK refresh
  interval.
- The Switchyard audit log made the change easy to find.

## Action items

| Ticket | Action | Owner | Status |
|---|---|---|---|
| INC-402 | Production flag changes above 50% need a second approver in Switchyard | Grace Kim | done 2025-02-14 |
| INC-403 | Remove the default environment from the Switchyard UI and CLI | Grace Kim | done 2025-02-14 |
| INC-404 | Fix the per-kilometre surcharge table; test with production lane samples | Nadia Petrova | done 2025-02-21 |
| INC-405 | Shorten the QuoteMarginAnomaly window from 15 to 5 minutes | Diego Alvarez | done 2025-02-07 |

INC-402 and INC-403 are now part of the Switchyard rules described in the feature flags guide.
"""

BACKUP_RESTORE = """
This runbook describes backups and restores of Lumen Freight's PostgreSQL clusters with
pgBackRest, in use since 2024-03-15 (ADR-0021). It replaces the wal-g runbook from 2022, which is
deprecated. Owner: Hannah Cole, DBA lead. Page the DBA on call with /flare page dba.

## Objectives

| Database | RPO | RTO |
|---|---|---|
| pg-main | 5 minutes | 1 hour |
| pg-ledger | 5 minutes | 1 hour |
| pg-tools and other Tier 2/3 databases | 15 minutes | 4 hours |

The RPO is met by continuous WAL archiving with archive_timeout = 60 seconds; in practice the
newest archived WAL segment is rarely more than a minute old. The RTO for pg-main was measured at
41 minutes for the restore itself in the DR drill of 2024-04-17.

## Backup schedule

- Full backup every Sunday at 03:00 UTC.
- Differential backup Monday to Saturday at 03:00 UTC.
- WAL archived continuously (archive-async with 4 processes).
- Backups are taken from the synchronous replica pg-main-b (backup-standby=y), so the primary
  carries no backup load.
- Two repositories: repo1 in S3 bucket lf-pgbackrest-use2 (us-east-2) and repo2 in
  lf-pgbackrest-usw2 (us-west-2).
- Repository encryption AES-256-CBC; the cipher key is in Vault at secret/pgbackrest/repo-cipher
  and is rotated yearly.
- Retention: 35 days (repo1-retention-full=5 with weekly full backups).

## Checking backups

```
pgbackrest --stanza=pg-main info
pgbackrest --stanza=pg-main check
```

Two alerts page the DBA on call: PgBackupMissing (no successful backup for 26 hours) and
PgWalArchiveFailing (archiving failed for 5 minutes). A failing WAL archive also makes WAL pile
up on the primary, so treat it as urgent even at night.

## Automated restore test

The job pg-restore-verify runs every Wednesday at 09:00 UTC. It restores the latest backup from
repo2 to a scratch instance in us-west-2, replays WAL to the current time, and checks that:

- Postgres starts and amcheck finds no corrupt indexes;
- the row count of the shipments table is within 2% of the previous day's count;
- the shipment-api smoke query returns results.

The result is posted to #dba. A failed test opens a P1 ticket in the PLAT project; two failures in
a row are treated as a SEV3 incident.

## Point-in-time restore (PITR)

Use PITR for accidental deletes or data corruption. Prefer restoring to a separate host and
copying the affected rows back; restoring over production loses every write made after the
target time. Restoring over production requires approval from the IC and the Head of Platform.

1. Declare an incident if none is open, and page the DBA.
2. Find the target time in UTC, just before the bad transaction (application logs, pgaudit).
3. Create a restore host: lf db restore-host create --cluster pg-main --size r6i.8xlarge
4. Restore on that host (command below), then start Postgres and let recovery finish.
5. Check the data with the owning squad; copy rows back with a reviewed script.
6. Only for a full restore: repoint PgBouncer with lf db repoint pg-main --to <host> and rebuild
   the replicas with patronictl reinit.

```
pgbackrest --stanza=pg-main --delta --type=time "--target=2024-07-01 14:29:00+00" \\
  --target-action=promote --process-max=16 restore
```

## Full restore of pg-main

For a lost cluster, restore the newest backup with --type=default (replay all WAL). Expect about
41 minutes for the 2.1 TB restore with process-max=16, about 10 minutes of WAL replay, and 5
minutes of checks: just under the 1-hour RTO. If us-east-2 itself is unavailable, follow the
region failover procedure in the DR drills document instead; the replica pg-main-dr is faster than
any restore.

## Do not

- Run pgbackrest expire by hand; retention is enforced by the nightly job.
- Restore into the data directory of a running node.
- Turn off archive_mode to save disk space; it breaks the RPO for every database on the host.
"""

DR_DRILLS = """
Lumen Freight tests its disaster recovery plans every quarter. This document gives the targets,
the drill rules, the results so far, and a summary of the region failover procedure. Owner:
Kenji Watanabe, Staff SRE. Results are presented in the Reliability Review after each drill.

## Targets

| Scenario | RTO | RPO |
|---|---|---|
| Loss of region us-east-2, fail over to us-west-2 | 2 hours | 5 minutes |
| Restore of pg-main from backup | 1 hour | 5 minutes |
| Loss of one or two Kafka brokers | tracking fresh again within 15 minutes | no data loss |

## Drill rules

- Drills take place on the third Wednesday of the first month of each quarter (January, April,
  July, October) at 10:00 Central.
- Drill types rotate: tabletop exercise, database restore, region failover, component failure.
- Drills are announced two weeks ahead in #eng-announce. If customers could notice the drill, it
  is posted on the status page as scheduled maintenance at least 5 business days ahead.
- The drill has its own IC, who must not be the current on-call engineer.
- Abort rule: if real customer impact reaches SEV2 criteria or an SLO burn rate of 14.4, the IC
  stops the drill and rolls everything back.
- Every finding becomes a PLAT ticket due before the next drill.

## Results

| Date | Type | Result | Notes |
|---|---|---|---|
| 2023-10-18 | Database restore (wal-g) | Failed | restore took 3 h 50 min against a 1 h target; led to ADR-0021 |
| 2024-01-17 | Tabletop: ransomware in an AWS account | Passed | break-glass instructions were out of date |
| 2024-04-17 | Database restore (pgBackRest) | Passed | restore of 2.1 TB in 41 min |
| 2024-07-17 | Region failover | Passed with findings | serving from us-west-2 after 47 min |
| 2024-10-16 | Kafka broker loss | Passed | 2 brokers stopped; freshness recovered in 12 min |

The next drill is on 2025-01-15: a tabletop exercise on the loss of Vault.

## Region failover procedure (summary)

The us-west-2 region runs a warm standby: the prod-usw2 cluster at about 25% capacity, the replica
pg-main-dr, and a standby Kafka cluster kafka-dr that MirrorMaker 2 keeps in sync for the
shipments.events and ledger.invoices topics. Tracking pings are not mirrored; tracking-ingest
buffers them at the edge for up to 6 hours.

1. The IC declares the incident (or drill) and freezes all deploys.
2. Promote the database: patronictl -c /etc/patroni/patroni-dr.yml failover --candidate pg-main-dr
3. Scale up the standby: lf dr scale-up --region us-west-2
4. Move traffic: lf dr switch-dns --to us-west-2 (api.lumenfreight.com has a 60 second TTL).
5. Check the SLO dashboards in Lighthouse and post on the status page.

Failback to us-east-2 is planned separately, within 7 days, inside a deploy window.

## Findings from the July 2024 failover drill

- The DNS TTL of api.lumenfreight.com was 300 seconds, which added minutes to the switch. Lowered
  to 60 seconds (PLAT-871, done 2024-08-05).
- Switchyard had no replica in us-west-2, so services started there used the flag defaults from
  code. A Switchyard replica was added (PLAT-872, done 2024-09-12).
- The runbook had no step for the gatekeeper signing keys in us-west-2; the step was added
  (PLAT-873, done 2024-08-20).

## Findings from the October 2024 Kafka drill

Both brokers of one availability zone (kafka-events-1 and kafka-events-2) were stopped for 30
minutes to simulate the loss of a zone. Replicas are spread across zones, so every partition kept
two in-sync replicas and stayed writable with min.insync.replicas=2; no partition went offline.
Consumer lag on tracking-ingest peaked at 310,000 messages, below the 500,000 paging threshold,
and tracking freshness was back within the SLO after 12 minutes.
"""

API_VERSIONING = """
This policy applies to every public Lumen Freight API: the Shipment API, the Rate Quotes API, the
Tracking API and webhooks, and to internal gRPC APIs between services. Owner: Grace Kim,
Developer Experience. Effective 2024-09-30.

## Versioning

- The major version is part of the URL path: /v1/, /v2/. Current versions: Shipment API v2
  (generally available since 2023-05-02), Rate Quotes API v1, Tracking API v2.
- Additive changes do not change the version: new endpoints, new optional request fields, new
  response fields, and new values of enums documented as extensible.
- At most two major versions of an API are supported at the same time.

A change is breaking, and needs a new major version, if it does any of the following:

- removes or renames a field, endpoint or query parameter;
- changes the type or format of a field;
- adds a required request field or parameter;
- changes error codes, default sorting, or pagination;
- makes validation stricter for requests that used to succeed.

## Deprecation notice

| API kind | Minimum notice between deprecation and sunset |
|---|---|
| Public REST APIs | 12 months |
| Webhook payload versions | 6 months |
| Internal gRPC APIs between services | 90 days |

Every response from a deprecated version carries these headers:

```
Deprecation: @1727654400
Sunset: Tue, 30 Sep 2025 00:00:00 GMT
Link: <https://developer.lumenfreight.com/migrate/v1-to-v2>; rel="deprecation"
```

Deprecation (RFC 9745) gives the deprecation date as a Unix timestamp; Sunset (RFC 8594) gives the
date after which the version stops working.

## Announcements

Deprecations are announced in the changelog at developer.lumenfreight.com/changelog and by email
to each account's API contacts, at the announcement and again 6 months, 3 months and 1 month
before the sunset. Account managers receive a daily report, built from logs, of the accounts
still calling deprecated versions. The metric lf_api_deprecated_calls_total counts calls per API
and version only; account IDs are never metric labels.

## Brownouts

In the last 60 days before a sunset, two scheduled brownouts of one hour each make the deprecated
version return HTTP 410 Gone, so remaining users notice before the real sunset. Brownouts are
posted on the status page 14 days ahead as scheduled maintenance and are excluded from the SLA.

## Current deprecations

| API | Version | Deprecated | Sunset | Replacement |
|---|---|---|---|---|
| Shipment API | v1 | 2024-09-30 | 2025-09-30 | Shipment API v2 |
| Webhooks | payload v1 | 2024-06-01 | 2024-12-01 | payload v2 |
| Tracking API | v1 polling endpoint /v1/positions | 2024-03-01 | 2025-03-01 | Tracking API v2 or webhooks |

Shipment API v1 brownouts: 2025-08-12 and 2025-09-09, each from 15:00 to 16:00 UTC.

## After the sunset

Requests to a sunset version receive HTTP 410 with the error code api_version_sunset and a link
to the migration guide. The code is removed from the service within one release cycle.

## Exceptions

Extending a published sunset date needs approval from the VP Engineering, Dana Okafor. An
Enterprise customer may receive an extension of at most 90 days through a contract amendment;
the old version then stays available only for that customer's API keys.
"""

ACCESS_POLICY_2021 = """
DEPRECATED. This policy was replaced by the Access Control Policy (effective 2024-03-01) and the
Offboarding Policy (2025). It is kept only to explain old audit findings. Do not follow it.

## Scope

This policy covered access of employees and contractors to Lumen Freight systems in 2021, when
the company had about 60 engineers.

## Accounts and MFA

- Google Workspace accounts were used to sign in to most tools; some tools had local accounts.
- Multi-factor authentication was required for Google Workspace and AWS. SMS codes and
  authenticator apps (TOTP) were both accepted.
- Shared team passwords were stored in LastPass shared folders.

## Production access

- Engineers received standing membership in the group prod-access after approval by their
  manager. The group gave kubectl access to the production cluster and administrator rights in
  the AWS console, with no expiry.
- Database access used a shared read-only user analytics_ro; its password was in the LastPass
  folder DB and was changed once a year.
- The AWS root account credentials were kept in the LastPass folder AWS Root, readable by three
  people.

## Access reviews

Access was reviewed twice a year, in January and July. Managers received a spreadsheet exported
from Google Workspace and AWS IAM and marked access to remove. Reviews were often completed weeks
late.

## Offboarding

- IT disabled the accounts of a departing person within 24 hours of their last working day, for
  both voluntary and involuntary departures.
- The manager emailed IT a list of systems the person had used; accounts in other systems were
  found during the next access review.
- Laptops had to be returned within 30 days.
- Shared passwords the person knew were changed when practical.

## Why it was replaced (note added in 2024)

- Standing production access and shared credentials could not be tied to individual actions.
- A 24-hour delay in deactivation was too long for involuntary departures; the current rule is
  within 1 hour.
- SMS and TOTP codes can be phished; the 2024 policy requires hardware security keys.
- Semiannual reviews became quarterly (January, April, July and October) in Okta.
- The 2024-06-19 pg-main certificate outage showed that offboarding must also transfer recurring
  tasks, which this policy never mentioned.
- LastPass was replaced by 1Password in 2022.
"""

ONBOARDING_GUIDE = """
Welcome to Lumen Freight engineering. This guide takes you from your first day to your first
on-call shift. Engineering has about 140 people in product squads (Shipments, Pricing, Tracking,
Billing, Identity) and in the Platform, Security, Data, Developer Experience and Support
Engineering teams. Owner: Grace Kim, Developer Experience. Questions: #eng-onboarding.

## Before day one

- IT ships your MacBook Pro and two YubiKeys (a primary and a backup) to your home address.
- Your manager assigns an onboarding buddy from your own team and schedules your first week.

## Day 1

- Enrol the laptop in Jamf when it asks; do not skip the disk encryption step.
- Activate your Okta account and register both YubiKeys. Hardware keys are required for every
  access role above eng-base.
- Join the Slack channels #eng-onboarding, #eng-announce, #incidents, #deploys and your team's
  channel.
- Meet your buddy. Your buddy reviews your first pull requests and answers questions for your
  first six weeks.

## Week 1

- Install the engineer CLI and check your setup:

```
brew install lumenfreight/tap/lf
lf doctor
```

- lf doctor checks VPN, GitHub SSO, Vault login, kubectl contexts and your access roles. You get
  eng-base automatically: GitHub, Slack, Jira, Lighthouse and read access to staging.
- Read these handbook pages: Incident Severity Levels, Incident Response Process, Deploy Pipeline
  (Conveyor), Secrets Rotation Policy and Access Control Policy.
- Ship something to production by the end of the week, even a one-line documentation fix. It
  proves your setup works end to end through Conveyor.

## Weeks 2 to 4

- Shadow your team's service rotation during business hours and join its incident channels.
- Complete the security awareness training within 30 days of your start date (then yearly).
- Attend the architecture walkthrough held by staff engineers every other Thursday at 14:00
  Central.

## The on-call path

| Step | When |
|---|---|
| Shadow shifts (two required) | after about 2 months |
| Join your team's rotation and platform on-call if relevant | after 3 months and two shadow shifts |
| Incident Commander training | after 12 months and two primary rotations |

IC training is run by Kenji Watanabe twice a year, in March and September. Trained ICs join the
incident-commander rotation in PagerDuty.

## 30, 60 and 90 days

- 30 days: development environment working, several changes shipped, security training done.
- 60 days: owns a small feature end to end, including its dashboard and alerts.
- 90 days: joins the on-call rotation; writes or updates one runbook.

## Who is who

- Dana Okafor - VP Engineering
- Miguel Serrano - Head of Platform
- Priya Raman - CISO
- Tomas Lindqvist - Head of Data
- Aisha Bello - Head of Support
- Grace Kim - engineering manager, Developer Experience (Conveyor, Switchyard)
- Kenji Watanabe - Staff SRE, owner of the on-call and incident process

## Getting help

Ask in #eng-help; someone from Developer Experience answers during business hours. Office hours
for tooling questions are on Tuesdays at 15:00 Central. For access problems use lf access list
first, then ask in #sec-help.
"""

COST_GUIDELINES = """
How Lumen Freight plans and controls cloud spending in FY2025 (January to December 2025). Owner:
Miguel Serrano, Head of Platform. Finance contact: Ruth Adeyemi, CFO.

## Budget

The FY2025 cloud budget is $410,000 per month: $372,000 for AWS and $38,000 for Snowflake.

| Area | Monthly budget |
|---|---|
| Shared platform (Kubernetes, Kafka, Postgres, observability) | $168,000 |
| Tracking squad (tracking-ingest, Redis edge buffers, storage) | $74,000 |
| Shipments and Dispatch squads | $46,000 |
| Pricing squad (including model training) | $41,000 |
| Disaster recovery standby in us-west-2 | $22,000 |
| Billing squad | $12,000 |
| Security tooling | $9,000 |
| Data team (Snowflake) | $38,000 |

## Approving new recurring spend

| New recurring cost | Approver |
|---|---|
| up to $2,000 per month | the team's engineering manager |
| above $2,000 per month | Head of Platform (Miguel Serrano) |
| above $10,000 per month | VP Engineering (Dana Okafor) |
| above $50,000 per month | CFO (Ruth Adeyemi) |

GPU instances always need approval from the Head of Platform, whatever the amount. One-off costs
(for example a load test) follow the same thresholds using the total cost.

## Tagging

Every AWS resource must carry four tags: cost-center, service, env and owner. The tag-police bot
reports untagged resources to the owning team daily. After 14 days of notice, untagged resources
in dev and staging are terminated; untagged production resources are escalated to the team's
engineering manager instead.

## Rules that save money

- Dev and staging environments scale down from 20:00 to 07:00 Central on weekdays and all
  weekend (lf env schedule shows the schedule of your namespace).
- Savings Plans cover 70% of the baseline compute; coverage is reviewed every quarter.
- New services run on Graviton (arm64) instances unless they have a documented reason not to.
- Every S3 bucket needs lifecycle rules; log buckets move objects to Infrequent Access after 30
  days.
- Log volume budgets: 20 GB per day for Tier 1 services, 5 GB per day for the others.

## Monitoring spend

- The cost anomaly check opens a ticket for the owning team when a service's daily spend is above
  130% of its 30-day average.
- The monthly cost review takes place on the first Tuesday of each month at 14:00 Central with
  the engineering managers of every team.
- A team above its budget for two months in a row presents a reduction plan at the next review.

## Past decisions for reference

- Kafka stayed self-managed rather than Amazon MSK: $9,800 per month against a quote of $21,500
  (ADR-0019).
- The second pgBackRest repository in us-west-2 adds about $900 per month; it was accepted as
  part of ADR-0021 because it is required for the disaster recovery targets.
- Shortening hot log retention in Loki from 90 to 30 days in 2024 saved about $6,500 per month.
"""

WALG_RUNBOOK = """
DEPRECATED since 2024-03-15. Postgres backups moved to pgBackRest (ADR-0021). The bucket
lf-walg-backups was deleted on 2024-04-30 and the commands below no longer work. Use the Database
Backup and Restore runbook instead. This page is kept for reading old incident reports.

## Setup (2022)

- wal-g 2.0 was installed on every Postgres node of pg-main, pg-ledger and pg-tools.
- Settings lived in /etc/wal-g/env, for example WALG_S3_PREFIX=s3://lf-walg-backups/pg-main and
  WALG_COMPRESSION_METHOD=brotli.
- WAL archiving: archive_command = 'wal-g wal-push %p' with archive_timeout = 300 seconds.
- Targets (ADR-0015): RPO 15 minutes, RTO 4 hours.

## Schedule

- A full base backup every night at 01:00 UTC, started by cron on the current primary:

```
wal-g backup-push /var/lib/postgresql/14/main
```

- Pruning every day at 06:00 UTC, keeping 14 full backups (14 days):

```
wal-g delete retain FULL 14 --confirm
```

- All backups were stored in us-east-2 only.

## Checking backups

Run wal-g backup-list as the postgres user. The alert WalgBackupTooOld opened a ticket when the
newest backup was older than 30 hours. The DBA team checked the list every Monday and ran a
manual restore test once per quarter.

## Restoring

1. Stop Postgres on the target host: systemctl stop postgresql@14-main
2. Move the old data directory aside; never delete it before the restore is verified.
3. Fetch the base backup: wal-g backup-fetch /var/lib/postgresql/14/main LATEST
4. Create recovery.signal and set restore_command = 'wal-g wal-fetch %f %p' and, for a
   point-in-time restore, recovery_target_time.
5. Start Postgres, wait until recovery reaches the target, then promote with
   pg_ctl promote.
6. Rebuild the replicas from the restored primary with Patroni.

A full restore of pg-main (1.2 TB at the end of 2022) took about 2 hours 10 minutes. By October
2023 the database had grown to 2.1 TB and the restore in the DR drill took 3 hours 50 minutes.

## Known limitations

- Restores downloaded with a single stream and could not use the cores of the restore host.
- Every nightly backup was a full backup; by 2023 it took 2 hours 40 minutes.
- A single region: losing us-east-2 would also have lost the backups.
- No automated restore verification.

These limitations are the reasons given in ADR-0021 for moving to pgBackRest.
"""

OFFBOARDING_POLICY = """
Effective 2025-01-15. Owner: Priya Raman, CISO. This policy covers everything that must happen
when an employee or contractor leaves Lumen Freight. It replaces the offboarding section of the
2021 Access and Offboarding Policy and includes action item INC-289 from the postmortem of the
2024-06-19 pg-main certificate outage.

## Trigger

A termination entered in Workday creates an offboarding ticket in the OFF Jira project
automatically, with the last working day and whether the departure is voluntary or involuntary.
IT, Security and the manager each get subtasks.

## Deadlines

| Step | Voluntary departure | Involuntary departure |
|---|---|---|
| Okta account deactivated | 17:00 local time on the last working day | within 1 hour of notice |
| GitHub, AWS SSO, Vault, PagerDuty (through Okta and SCIM) | automatic with Okta | automatic with Okta |
| Shared secrets the person could read rotated | within 5 business days | within 24 hours |
| Laptop and YubiKeys returned | within 10 business days | within 10 business days |
| Accounts deleted | 30 days after deactivation | 30 days after deactivation |
| Mailbox kept for the manager | 90 days, unless Legal places a hold | 90 days, unless Legal places a hold |

For involuntary departures the Okta deactivation normally happens during the meeting itself.
Returned laptops are wiped through Jamf before reuse.

## Manager checklist (before the last working day)

- Transfer ownership of services in the service catalogue, Switchyard flags, Jira tickets and
  dashboards to a team, not to another single person where possible.
- Transfer recurring operational tasks: calendar reminders, scheduled jobs running under personal
  credentials, certificate and domain renewals, vendor contract renewals. This step was added
  after the 2024-06-19 outage, where a certificate renewal reminder disappeared with the account
  of an engineer who had left in February 2024.
- Check that Vault secrets list a team alias as owner, as the Secrets Rotation Policy requires.
- Remove the person from PagerDuty schedules and arrange overrides for their future on-call
  shifts.
- Ask for a short handover document covering work in progress.

## Security checks

- For involuntary departures of anyone holding production roles, Security reviews the person's
  audit log for the last 30 days.
- If the person could open the 1Password vault Break Glass, the break-glass credentials are
  rotated on the same day.
- Personal access tokens in GitHub and API keys issued to the person are revoked by the SCIM
  deprovisioning; Security verifies this weekly for every closed OFF ticket.

## Contractors

Contractor accounts carry an end date in Okta and are disabled automatically at 17:00 local time
on that date. The Lumen Freight sponsor confirms the end date one week ahead or extends it (at most
90 days at a time).

## Internal moves

When someone changes team, access from the old team is removed after 30 days unless the new
manager confirms it is still needed. The next quarterly access review catches anything left.
"""

DEBEZIUM_POSTMORTEM = """
- Date: 2024-09-10
- Severity: SEV2 (risk of a write outage on pg-main; analytics data stale for 33 hours)
- Incident duration: 2 hours 19 minutes (04:51 to 07:10 Central, from declaration to resolution)
- Incident Commander: Lena Hoffmann
- Ops leads: Hannah Cole (DBA) and Sofia Marquez (Data)
- Postmortem owner: Sofia Marquez
- Incident channel: #inc-20240910-cdc-wal

## Summary

After an unannounced upgrade of the Kafka Connect cluster connect-cdc on Sunday evening, the
Debezium connector cdc-pg-main stopped reading from its replication slot on pg-main. Postgres
kept all WAL the slot had not confirmed. Over about 30 hours the slot debezium_pg_main retained
410 GB of WAL and the pg-main data volume went from its usual 80% to 90% full. No customer
request failed, but had the disk filled, pg-main would have stopped accepting writes: a SEV1
outage of shipment-api.

## Impact

- The warehouse was stale for 33 hours (from 22:05 on 2024-09-08 to about 07:10 on 2024-09-10).
- Revenue and on-time dashboards showed wrong numbers on 2024-09-09 and the morning of 2024-09-10.
- The Pricing squad's nightly model retraining on 2024-09-09 used stale data and was re-run.
- No customer impact and no data loss. At the observed growth rate of about 13.5 GB per hour the
  disk would have filled in roughly 28 more hours.

## Timeline (Central time)

| Time | Event |
|---|---|
| 09-08 21:40 | Kafka Connect workers upgraded from 3.6 to 3.7 with a new configuration template |
| 09-08 22:05 | Task 0 of cdc-pg-main fails; the slot stops advancing |
| 09-09 10:12 | An analyst asks in #data-help why yesterday's numbers are missing; assumed to be a loader delay |
| 09-10 04:22 | PgDiskUsage at 90% pages platform-primary Marcus Reid; acknowledged 04:25 |
| 09-10 04:51 | SEV2 declared; Lena Hoffmann is IC; DBA and Data on call paged |
| 09-10 05:12 | pg_replication_slots shows debezium_pg_main retaining 410 GB |
| 09-10 05:20 | Decision: repair the connector rather than drop the slot (a drop forces a 9-hour re-snapshot) |
| 09-10 05:35 | Worker configuration fixed; connector restarted with its original offsets |
| 09-10 07:10 | Retained WAL below 1 GB, disk back to 80%; incident resolved |

## Root cause

The new worker configuration template set offset.storage.topic to a new, empty topic instead of
connect-cdc-offsets. After the restart the connector found no stored offsets, tried to take an
initial snapshot, and failed on a lock timeout on the shipments table. Kafka Connect reports a
FAILED task only through its REST API, and nothing monitored that API.

## Contributing factors

- Kafka Connect upgrades were not announced and were not covered by the deploy windows.
- There was no alert on the WAL retained by replication slots, and no max_slot_wal_keep_size
  limit, so a stalled consumer could fill the disk.
- pg-main was already at 80% disk; a volume expansion was planned for October.
- The analyst's question on 09-09 was not treated as a signal of a pipeline failure.

## What went well

- The disk alert gave enough warning to avoid a write outage.
- Keeping the slot and repairing the connector avoided a 9-hour re-snapshot.

## Action items

| Ticket | Action | Owner | Status |
|---|---|---|---|
| DATA-341 | Alert CdcConnectorNotRunning: task not RUNNING for 5 minutes | Sofia Marquez | done 2024-09-13 |
| PLAT-902 | Alert PgReplicationSlotWAL: 50 GB ticket, 150 GB page | Hannah Cole | done 2024-09-16 |
| PLAT-903 | Set max_slot_wal_keep_size = 200GB on pg-main | Hannah Cole | done 2024-09-24 |
| PLAT-905 | Grow pg-main data volumes from 4 TB to 6 TB | Hannah Cole | done 2024-10-08 |
| DATA-342 | Warehouse freshness check: ticket above 1 hour, page above 2 hours | Sofia Marquez | done 2024-09-20 |
| DATA-343 | Announce Kafka Connect upgrades in #deploys; no weekend upgrades | Tomas Lindqvist | done 2024-09-17 |

The #data-help triage rule now says that any question about missing or stale data is checked
against the freshness dashboard within one hour.
"""

SOURCES: tuple[SourceDoc, ...] = (
    SourceDoc(
        path="platform/postmortems/2025-01-28-rate-engine-flag.pdf",
        title="Postmortem: rate-engine quoted prices too low after a feature flag change (2025-01-28)",
        team="platform",
        doc_type="postmortem",
        year=2025,
        status="active",
        tags=("postmortem", "feature-flags", "switchyard", "rate-engine", "pricing", "sev2"),
        owner="Nadia Petrova",
        summary="A Switchyard flag meant for staging sent 100% of production quotes to a buggy pricing model.",
        date="2025-02-06",
        body=RATE_ENGINE_POSTMORTEM,
        severity="SEV2",
    ),
    SourceDoc(
        path="platform/databases/backup-and-restore.pdf",
        title="Database Backup and Restore (pgBackRest)",
        team="platform",
        doc_type="runbook",
        year=2024,
        status="active",
        tags=("postgres", "backup", "restore", "pgbackrest", "pitr", "rpo", "rto"),
        owner="Hannah Cole",
        summary="Backup schedule, RPO/RTO targets, restore tests and point-in-time restore with pgBackRest.",
        date="2024-03-20",
        body=BACKUP_RESTORE,
    ),
    SourceDoc(
        path="platform/dr-drills.pdf",
        title="Disaster Recovery Drills",
        team="platform",
        doc_type="runbook",
        year=2024,
        status="active",
        tags=("disaster-recovery", "drills", "failover", "rto", "game-day"),
        owner="Kenji Watanabe",
        summary="Quarterly DR drill rules, targets, results from 2023-2024 and the region failover procedure.",
        date="2024-10-25",
        body=DR_DRILLS,
    ),
    SourceDoc(
        path="platform/api-versioning-policy.pdf",
        title="API Versioning and Deprecation Policy",
        team="platform",
        doc_type="policy",
        year=2024,
        status="active",
        tags=("api", "versioning", "deprecation", "sunset", "breaking-changes"),
        owner="Grace Kim",
        summary="How public and internal APIs are versioned, deprecated, browned out and sunset.",
        date="2024-09-30",
        body=API_VERSIONING,
    ),
    SourceDoc(
        path="security/access-policy-2021.pdf",
        title="Access and Offboarding Policy (2021)",
        team="security",
        doc_type="policy",
        year=2021,
        status="deprecated",
        tags=("access", "offboarding", "mfa", "lastpass", "legacy"),
        owner="Priya Raman",
        summary="The 2021 access and offboarding rules, replaced in 2024 and 2025.",
        date="2021-02-15",
        body=ACCESS_POLICY_2021,
    ),
    SourceDoc(
        path="onboarding-guide.docx",
        title="Engineering Onboarding Guide",
        team="engineering",
        doc_type="guide",
        year=2024,
        status="active",
        tags=("onboarding", "new-hire", "setup", "checklist", "oncall"),
        owner="Grace Kim",
        summary="First day to first on-call shift: setup, reading list, milestones and contacts.",
        date="2024-08-12",
        body=ONBOARDING_GUIDE,
    ),
    SourceDoc(
        path="platform/cost-budget-guidelines.docx",
        title="Cloud Cost and Budget Guidelines (FY2025)",
        team="platform",
        doc_type="policy",
        year=2025,
        status="active",
        tags=("cost", "budget", "finops", "tagging", "aws", "snowflake"),
        owner="Miguel Serrano",
        summary="FY2025 cloud budget, spend approval thresholds, tagging and cost-saving rules.",
        date="2025-01-10",
        body=COST_GUIDELINES,
    ),
    SourceDoc(
        path="platform/databases/postgres-backup-walg-2022.docx",
        title="Postgres Backups with wal-g (2022 runbook)",
        team="platform",
        doc_type="runbook",
        year=2022,
        status="deprecated",
        tags=("postgres", "backup", "restore", "wal-g", "legacy"),
        owner="Hannah Cole",
        summary="The wal-g backup and restore procedure used from 2022 until March 2024.",
        date="2022-04-04",
        body=WALG_RUNBOOK,
    ),
    SourceDoc(
        path="security/offboarding-policy.docx",
        title="Offboarding Policy",
        team="security",
        doc_type="policy",
        year=2025,
        status="active",
        tags=("offboarding", "access", "leavers", "secrets", "okta"),
        owner="Priya Raman",
        summary="Deadlines and checklists for deactivating accounts and handing over work when people leave.",
        date="2025-01-15",
        body=OFFBOARDING_POLICY,
    ),
    SourceDoc(
        path="data/postmortems/2024-09-10-debezium-wal-growth.docx",
        title="Postmortem: stalled CDC connector filled pg-main with WAL (2024-09-10)",
        team="data",
        doc_type="postmortem",
        year=2024,
        status="active",
        tags=("postmortem", "cdc", "debezium", "postgres", "wal", "sev2"),
        owner="Sofia Marquez",
        summary="A failed Debezium task let a replication slot retain 410 GB of WAL on pg-main.",
        date="2024-09-19",
        body=DEBEZIUM_POSTMORTEM,
        severity="SEV2",
    ),
)


if __name__ == "__main__":
    sys.exit(main())
