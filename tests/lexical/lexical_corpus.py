"""A tiny hand-written corpus for the lexical tests: 20 chunks from 10 documents, with metadata."""

from __future__ import annotations

from pathlib import Path

from ragpipe.index_location import IndexLocation
from ragpipe.types import Chunk

# (doc_id, team, year, text)
ROWS: list[tuple[str, str, int, str]] = [
    ("runbooks/deploy.md", "platform", 2021, "Deploy the API service with the blue green strategy."),
    ("runbooks/deploy.md", "platform", 2021, "Rolling back a failed deploy takes about five minutes."),
    ("runbooks/latency.md", "platform", 2023, "Latency alerts fire when p95 latency exceeds 300 ms for ten minutes."),
    ("runbooks/latency.md", "platform", 2023, "Check the latency dashboard before paging the on-call engineer."),
    ("search/ranking.md", "search", 2022, "The ranking service scores documents with BM25 and a neural reranker."),
    ("search/ranking.md", "search", 2022, "Ranking latency depends on the number of candidate documents."),
    ("search/index.md", "search", 2024, "The index is rebuilt every night from the document catalog."),
    ("search/index.md", "search", 2024, "Index latency grows when many documents are written at once."),
    ("search/query.md", "search", 2024, "Query latency is measured at the gateway, not inside the ranking service."),
    ("search/query.md", "search", 2020, "Slow queries are logged with their latency and the filter they used."),
    ("security/keys.md", "security", 2022, "Rotate the signing keys every ninety days."),
    ("security/keys.md", "security", 2022, "Old keys stay valid for one day after rotation."),
    ("security/audit.md", "security", 2023, "The audit log records every access to customer data."),
    ("security/audit.md", "security", 2023, "Audit entries are kept for seven years."),
    ("data/pipeline.md", "data", 2021, "The ingestion pipeline runs hourly and writes Parquet files."),
    ("data/pipeline.md", "data", 2021, "A failed pipeline run retries three times before alerting."),
    ("data/schema.md", "data", 2024, "Schema changes need a migration and a review by the data team."),
    ("data/schema.md", "data", 2024, "The v2 schema adds a tenant column to every table."),
    ("misc/kubernetes.md", "platform", 2025, "Our Kubernetes clusters autoscale nodes on CPU load."),
    ("misc/kubernetes.md", "platform", 2025, "Running pods are drained before a node upgrade."),
]


def make_chunks() -> list[Chunk]:
    """Chunks with ids ``<doc_id>#<n>``; metadata holds team, year and a list-valued ``tags``."""
    chunks: list[Chunk] = []
    counters: dict[str, int] = {}
    offsets: dict[str, int] = {}  # a document's text is its chunks joined by one space
    for doc_id, team, year, text in ROWS:
        n = counters.get(doc_id, 0)
        start = offsets.get(doc_id, 0)
        counters[doc_id] = n + 1
        offsets[doc_id] = start + len(text) + 1
        tags = ["ops", team] if team in ("platform", "security") else [team]
        metadata = {"team": team, "year": year, "tags": tags}
        chunks.append(Chunk(f"{doc_id}#{n}", doc_id, text, start, start + len(text), metadata))
    return chunks


def make_location(folder: Path, writable: bool = True) -> IndexLocation:
    """A generation folder that is its own index root (a work generation when ``writable``)."""
    return IndexLocation(folder=folder, root=folder, writable=writable)
