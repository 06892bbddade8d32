"""A tiny corpus with a QA set and a BEIR folder, shared by the eval tests.

Every question is worded without any (non-stopword) term of the corpus, so BM25 finds nothing while the
dense leg still ranks the relevant document: ``retrieval.mode=lexical`` is a deliberately worse config.
"""

from __future__ import annotations

import json
from pathlib import Path

from ragpipe.ingest.loader import load_document
from ragpipe.ingest.sources import FoundFile

DOCS = {
    "ops/backups.md": (
        "---\ntitle: Database backups\nteam: platform\n---\n# Database backups\n\n"
        "The orders database is snapshotted every 15 minutes to cold storage. "
        "A full restore takes about 40 minutes with the restore-orders tool.\n"
    ),
    "ops/oncall.txt": (
        "On-call rotation\n\nEach engineer is on call for one week, starting Monday at 10:00. "
        "Pages must be acknowledged within five minutes, otherwise they escalate to the secondary.\n"
    ),
    "security/keys.md": (
        "---\ntitle: Key rotation\nteam: security\n---\n# Key rotation\n\n"
        "Signing keys for the payments API are rotated every 90 days by the vault-rotate job.\n"
    ),
    "security/access.txt": (
        "Access reviews\n\nQuarterly access reviews remove dormant accounts after 60 days without a login.\n"
    ),
    "office/kitchen.txt": (
        "Office kitchen\n\nThe espresso machine on the third floor is descaled every Friday afternoon.\n"
    ),
    "office/laptops.txt": "Hardware refresh\n\nEmployee laptops are replaced after three years of service.\n",
    "office/travel.txt": "Travel policy\n\nFlights longer than six hours may be booked in premium economy.\n",
    "office/parking.txt": "Parking\n\nBicycle racks are located behind building B near the loading dock.\n",
}

# (id, question, gold answer, relevant doc, evidence quote in the parsed document text)
QUESTIONS = [
    ("q1", "How often do we copy purchase records somewhere safe?", "every 15 minutes", "ops/backups.md",
     "snapshotted every 15 minutes to cold storage"),
    ("q2", "How quickly should someone answer an urgent alert?", "within five minutes", "ops/oncall.txt",
     "acknowledged within five minutes"),
    ("q3", "How frequently do cryptographic credentials get swapped?", "every 90 days", "security/keys.md",
     "rotated every 90 days"),
    ("q4", "When do idle user profiles get purged?", "after 60 days without a login", "security/access.txt",
     "remove dormant accounts after 60 days without a login"),
    ("q5", "When is the coffee maker cleaned?", "every Friday afternoon", "office/kitchen.txt",
     "descaled every Friday afternoon"),
    ("q6", "How old can a staff computer get before it gets swapped?", "three years", "office/laptops.txt",
     "replaced after three years of service"),
    ("q7", "Which seat class is allowed on lengthy plane trips?", "premium economy", "office/travel.txt",
     "booked in premium economy"),
    ("q8", "Where can I leave my bike?", "behind building B", "office/parking.txt",
     "located behind building B near the loading dock"),
]  # fmt: skip


def write_corpus(root: Path) -> Path:
    for rel, text in DOCS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def parsed_text(corpus: Path, doc_id: str) -> str:
    """The document text as ingest parses it (what spans and chunk offsets index)."""
    found = FoundFile(path=corpus / doc_id, doc_id=doc_id, root=corpus)
    return load_document(found, {}, 10**6).document.text


def qa_records(corpus: Path) -> list[dict]:
    records = []
    for qid, question, answer, doc_id, quote in QUESTIONS:
        text = parsed_text(corpus, doc_id)
        start = text.index(quote)
        records.append(
            {
                "id": qid,
                "question": question,
                "answer": answer,
                "relevant_docs": [doc_id],
                "spans": [{"doc_id": doc_id, "start": start, "end": start + len(quote), "text": quote}],
                "type": "fact",
            }
        )
    return records


def write_jsonl(path: Path, records: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_beir(root: Path) -> Path:
    """A BEIR folder over the same texts (ids d1..d8) with the same questions, test and train splits."""
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    ids = {rel: f"d{i}" for i, rel in enumerate(DOCS, start=1)}
    corpus = []
    for rel, text in DOCS.items():
        title, _, body = text.rpartition("---\n")[2].lstrip("# ").partition("\n\n")
        corpus.append({"_id": ids[rel], "title": title.strip(), "text": body.strip()})
    write_jsonl(root / "corpus.jsonl", corpus)
    write_jsonl(root / "queries.jsonl", [{"_id": qid, "text": q} for qid, q, *_ in QUESTIONS])
    rows = ["query-id\tcorpus-id\tscore", *(f"{qid}\t{ids[doc]}\t1" for qid, _, _, doc, _ in QUESTIONS)]
    (root / "qrels" / "test.tsv").write_text("\n".join(rows[:6]) + "\n", encoding="utf-8")
    (root / "qrels" / "train.tsv").write_text("\n".join([rows[0], *rows[6:]]) + "\n", encoding="utf-8")
    return root
