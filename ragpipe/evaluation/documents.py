"""Parsed document texts for span scoring and span validation, read with ingest's own loader.

Gold spans and chunk offsets index the *parsed* text of a document (Markdown without front matter,
rendered HTML/DOCX, extracted PDF text), so texts are obtained exactly as ingest obtains them:
:func:`ragpipe.ingest.loader.load_document`, each document parsed once and cached.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from ragpipe.config.models import SourceConfig
from ragpipe.errors import ConfigError
from ragpipe.evaluation.span_metrics import Span, span_scores
from ragpipe.ingest.loader import DocumentLoadError, ParserSet, load_document
from ragpipe.ingest.sources import FoundFile, discover

MAX_DOCUMENT_BYTES = 100 * 2**20


class DocumentTexts:
    """Text of documents by ingest id, from one corpus folder or from a config's sources.

    ``get`` raises :class:`KeyError` for an id that no file has and
    :class:`~ragpipe.ingest.loader.DocumentLoadError` for a file that cannot be parsed.
    """

    def __init__(
        self,
        corpus_dir: Path | None = None,
        sources: Sequence[SourceConfig] = (),
        base_dir: Path | None = None,
        parsers: ParserSet | None = None,
    ) -> None:
        self.corpus_dir = corpus_dir
        self.sources = tuple(sources)
        self.base_dir = base_dir or Path.cwd()
        self.parsers = parsers
        self._texts: dict[str, str] = {}
        self._found: dict[str, FoundFile] | None = None
        self._lock = threading.Lock()

    def _locate(self, doc_id: str) -> FoundFile:
        relative = Path(doc_id)
        if relative.is_absolute() or ".." in relative.parts:
            raise KeyError(doc_id)  # ids are paths inside the corpus, never outside it
        if self.corpus_dir is not None:
            path = self.corpus_dir / doc_id
            if not path.is_file():
                raise KeyError(doc_id)
            return FoundFile(path=path, doc_id=doc_id, root=self.corpus_dir)
        if self._found is None:
            found: dict[str, FoundFile] = {}
            for source in self.sources:
                for item in discover(source, self.base_dir):
                    found.setdefault(source.id_prefix + item.doc_id, item)
            self._found = found
        if doc_id not in self._found:
            raise KeyError(doc_id)
        return self._found[doc_id]

    def get(self, doc_id: str) -> str:
        """The parsed text of ``doc_id`` (parsed on first request only)."""
        with self._lock:
            if doc_id not in self._texts:
                found = self._locate(doc_id)
                self._texts[doc_id] = load_document(found, {}, MAX_DOCUMENT_BYTES, self.parsers).document.text
            return self._texts[doc_id]

    def exists(self, doc_id: str) -> bool:
        """Whether a file with this id exists (without parsing it)."""
        with self._lock:
            try:
                self._locate(doc_id)
            except KeyError:
                return False
            return True


def check_span(span: Span, texts: DocumentTexts, expected_text: str | None = None) -> None:
    """Raise ValueError saying why ``span`` cannot serve as gold evidence.

    Checks that its document exists and parses, that ``start < end <= len(text)``, that it covers a word,
    and (when given) that the text it slices equals ``expected_text``.
    """
    where = f"span {span.doc_id!r} {span.start}:{span.end}"
    if span.end <= span.start:
        raise ValueError(f"{where} is empty (need start < end)")
    try:
        text = texts.get(span.doc_id)
    except KeyError:
        raise ValueError(f"{where}: document {span.doc_id!r} not found in the corpus") from None
    except DocumentLoadError as exc:
        raise ValueError(f"{where}: document cannot be parsed: {exc.reason}") from None
    except ConfigError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if span.end > len(text):
        raise ValueError(f"{where} lies past the end of the parsed document ({len(text)} characters)")
    if expected_text is not None and text[span.start : span.end] != expected_text:
        found = text[span.start : span.end]
        raise ValueError(f"{where} slices {found[:60]!r}, not the span's text {expected_text[:60]!r}")
    try:
        span_scores([], [span], {span.doc_id: text})
    except ValueError:
        raise ValueError(f"{where} covers no word of the document (only whitespace)") from None
