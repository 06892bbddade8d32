"""Build ``evals/handbook_qa.jsonl``, the QA eval set for the bundled corpus (``corpora/handbook``).

Each question below names its gold evidence as exact QUOTES of the documents' text *as ragpipe parses
it* (Markdown without front matter, HTML/DOCX rendered to Markdown-like text, PDF extracted text). The
character offsets of the spans are never written by hand: every document is loaded with ragpipe's own
loader and each quote must occur exactly once in its document's text, otherwise the build fails.

    .venv/bin/python scripts/build_eval_set.py            # (re)write evals/handbook_qa.jsonl
    .venv/bin/python scripts/build_eval_set.py --check    # exit 1 if the file is out of date

The output is deterministic: fixed question order, fixed key order, UTF-8, one JSON object a line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpora" / "handbook"
OUTPUT = REPO / "evals" / "handbook_qa.jsonl"
MAX_BYTES = 100 * 2**20

QUESTION_TYPES = ("fact", "how-to", "definition", "comparison", "multi-doc")
NOT_DEPRECATED = {"status": {"ne": "deprecated"}}
CURRENT_ONLY = {"not": {"status": {"in": ["deprecated", "superseded"]}}}

# Document ids (paths relative to corpora/handbook), short names for the question table.
SEV = "platform/incidents/severity-levels.md"
IR = "platform/incidents/incident-response.md"
ONC = "platform/oncall/oncall-rotation.md"
ONC21 = "platform/oncall/oncall-runbook-2021.html"
SLO = "platform/slos.html"
SLA = "support/sla-credits.html"
ESC = "support/escalation-runbook.md"
STP = "support/status-page-communications.txt"
DEP = "platform/deploy/deploy-pipeline.md"
JEN = "platform/deploy/jenkins-deploy-legacy.html"
RB = "platform/deploy/rollback.md"
FF = "platform/feature-flags.md"
PMK = "platform/postmortems/2023-03-14-kafka-disk-exhaustion.md"
PMC = "platform/postmortems/2024-06-19-pg-main-cert-expiry.html"
PMR = "platform/postmortems/2025-01-28-rate-engine-flag.pdf"
ADR7 = "platform/adr/adr-0007-kafka-on-zookeeper.md"
ADR19 = "platform/adr/adr-0019-kafka-kraft.md"
ADR21 = "platform/adr/adr-0021-pgbackrest.html"
BR = "platform/databases/backup-and-restore.pdf"
PGO = "platform/databases/postgres-operations.md"
KO = "platform/kafka/kafka-operations.md"
DR = "platform/dr-drills.pdf"
LOG = "platform/observability/logging-and-tracing.txt"
MET = "platform/observability/metrics-and-alerts.txt"
API = "platform/api-versioning-policy.pdf"
COST = "platform/cost-budget-guidelines.docx"
AC = "security/access-control.html"
AC21 = "security/access-policy-2021.pdf"
OFF = "security/offboarding-policy.docx"
SEC = "security/secrets-rotation.md"
VAULT = "security/vault-cheatsheet.txt"
CDC = "data/cdc-pipeline.txt"
RET = "data/data-retention-policy.md"
PMD = "data/postmortems/2024-09-10-debezium-wal-growth.docx"
WH = "data/warehouse-guide.txt"
FAQ = "faq.md"
GLOSS = "glossary.md"
ONB = "onboarding-guide.docx"


class EvalSetError(Exception):
    """A question or quote of this builder is invalid; the message names the question and document."""


@dataclass(frozen=True)
class Evidence:
    """One gold span: an exact quote of the parsed text of ``doc_id``."""

    doc_id: str
    quote: str


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str
    type: str
    paraphrased: bool
    evidence: tuple[Evidence, ...]
    filters: Mapping[str, Any] | None = None

    @property
    def relevant_docs(self) -> list[str]:
        """Documents holding the evidence, in evidence order, each once."""
        return list(dict.fromkeys(e.doc_id for e in self.evidence))


def q(
    qid: str,
    question: str,
    answer: str,
    qtype: str,
    paraphrased: bool,
    evidence: Sequence[tuple[str, str]],
    filters: Mapping[str, Any] | None = None,
) -> Question:
    """Shorthand for the table below: evidence as ``(doc_id, quote)`` pairs."""
    return Question(qid, question, answer, qtype, paraphrased, tuple(Evidence(d, t) for d, t in evidence), filters)


def load_texts(doc_ids: Iterable[str], corpus: Path = CORPUS) -> dict[str, str]:
    """Parsed text of each document, loaded exactly as ``ragpipe ingest`` loads it."""
    from ragpipe.config.models import SourceConfig
    from ragpipe.ingest.loader import load_document
    from ragpipe.ingest.sources import discover

    wanted = set(doc_ids)
    texts: dict[str, str] = {}
    for found in discover(SourceConfig(path=str(corpus)), corpus.parent):
        if found.doc_id in wanted:
            texts[found.doc_id] = load_document(found, {}, MAX_BYTES).document.text
    missing = sorted(wanted - set(texts))
    if missing:
        raise EvalSetError(f"documents not found under {corpus}: {', '.join(missing)}")
    return texts


def locate(text: str, quote: str, where: str) -> tuple[int, int]:
    """``(start, end)`` of the single occurrence of ``quote`` in ``text``; EvalSetError otherwise."""
    if not quote.strip():
        raise EvalSetError(f"{where}: empty quote")
    start = text.find(quote)
    if start < 0:
        raise EvalSetError(f"{where}: quote not found in the parsed text: {quote!r}")
    if text.find(quote, start + 1) >= 0:
        raise EvalSetError(f"{where}: quote occurs more than once; make it longer: {quote!r}")
    return start, start + len(quote)


def validate(questions: Sequence[Question]) -> None:
    """Ids unique and well-formed, known types, evidence present; EvalSetError naming the question."""
    seen: set[str] = set()
    for question in questions:
        where = f"question {question.id}"
        if not (question.id.startswith("q") and question.id[1:].isdigit()):
            raise EvalSetError(f"{where}: ids look like q001")
        if question.id in seen:
            raise EvalSetError(f"{where}: duplicate id")
        seen.add(question.id)
        if question.type not in QUESTION_TYPES:
            raise EvalSetError(f"{where}: type {question.type!r} is not one of {', '.join(QUESTION_TYPES)}")
        if not question.evidence:
            raise EvalSetError(f"{where}: needs at least one evidence quote")
        if question.type == "multi-doc" and len(question.relevant_docs) < 2:
            raise EvalSetError(f"{where}: a multi-doc question needs evidence from at least two documents")
        if not question.question.strip() or not question.answer.strip():
            raise EvalSetError(f"{where}: question and answer must be non-empty")


def build_records(questions: Sequence[Question], texts: Mapping[str, str]) -> list[dict[str, Any]]:
    """One JSON-ready record per question, spans located in ``texts``."""
    validate(questions)
    records: list[dict[str, Any]] = []
    for question in questions:
        spans = []
        for evidence in question.evidence:
            if evidence.doc_id not in texts:
                raise EvalSetError(f"question {question.id}: unknown document {evidence.doc_id!r}")
            start, end = locate(texts[evidence.doc_id], evidence.quote, f"question {question.id}, {evidence.doc_id}")
            spans.append({"doc_id": evidence.doc_id, "start": start, "end": end})
        record: dict[str, Any] = {
            "id": question.id,
            "question": question.question,
            "answer": question.answer,
            "type": question.type,
            "paraphrased": question.paraphrased,
            "relevant_docs": question.relevant_docs,
            "spans": spans,
        }
        if question.filters:
            record["filters"] = dict(question.filters)
        records.append(record)
    return records


def render(records: Iterable[Mapping[str, Any]]) -> str:
    """The JSONL file's exact content."""
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def build(corpus: Path = CORPUS) -> str:
    """Load the documents, locate every quote, and return the JSONL content."""
    texts = load_texts({e.doc_id for question in QUESTIONS for e in question.evidence}, corpus)
    return render(build_records(QUESTIONS, texts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the output file is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"JSONL file to write (default: {OUTPUT})")
    args = parser.parse_args(argv)
    try:
        content = build()
    except EvalSetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != content:
            sys.stderr.write(f"{args.output} is out of date; run: python scripts/build_eval_set.py\n")
            return 1
        sys.stdout.write(f"{args.output}: up to date ({len(QUESTIONS)} questions)\n")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(content, encoding="utf-8", newline="\n")
    sys.stdout.write(f"wrote {args.output} ({len(QUESTIONS)} questions)\n")
    return 0


# The eval set. Ids are stable: append new questions, never renumber. Each evidence pair is
# (document id, exact quote of its parsed text); multi-doc questions have one quote per document.
QUESTIONS: tuple[Question, ...] = (
    # ---- fact ----
    q(
        "q001",
        "How quickly does someone need to respond when the most serious kind of outage pages them?",
        "Within 5 minutes",
        "fact",
        True,
        [
            (SEV, "acknowledge the page within **5 minutes**"),
            (FAQ, "For a SEV1 the acknowledgement target is also 5 minutes"),
        ],
        NOT_DEPRECATED,
    ),
    q(
        "q002",
        "How many past releases of a service does Conveyor keep?",
        "The last 10 releases",
        "fact",
        False,
        [(RB, "Conveyor keeps the last **10 releases** of each service"), (DEP, "# the last 10 releases")],
    ),
    q(
        "q003",
        "How long does undoing a bad deployment usually take to replace all the running instances?",
        "2 to 4 minutes for most services (up to 8 minutes for tracking-ingest)",
        "fact",
        True,
        [
            (
                RB,
                "replaces all pods at once with the older image, which\n"
                "takes 2 to 4 minutes for most services (`tracking-ingest` takes up to 8 minutes because its\n"
                "consumers rebalance)",
            )
        ],
    ),
    q(
        "q004",
        "What is the weekly stipend for the platform-primary on-call engineer?",
        "$450 per week",
        "fact",
        False,
        [(ONC, "Primary stipend: **$450 per week**")],
        NOT_DEPRECATED,
    ),
    q(
        "q005",
        "How much warning do customers get before an outdated version of our public web interface stops working?",
        "At least 12 months between deprecation and sunset",
        "fact",
        True,
        [(API, "Public REST APIs 12 months")],
    ),
    q(
        "q006",
        "How many KRaft controller nodes does kafka-events run?",
        "3 dedicated controllers, one per availability zone",
        "fact",
        False,
        [
            (KO, "3 dedicated KRaft controllers (`kafka-ctrl-1` … `kafka-ctrl-3`), one per zone."),
            (
                ADR19,
                "**3 dedicated\n   controller nodes** (`kafka-ctrl-1` to `kafka-ctrl-3`, m6i.large, "
                "one per availability zone)",
            ),
        ],
    ),
    q(
        "q007",
        "How much did the 2024 effort to prune noisy alerts reduce how often people on call were woken up each week?",
        "From 23 to 9 pages per on-call week",
        "fact",
        True,
        [(MET, "In 2024 the review removed 41 paging alerts and\nreduced pages per on-call week from 23 to 9.")],
    ),
    q(
        "q008",
        "What was the estimated revenue impact of the 2025-01-28 rate-engine feature flag incident?",
        "$41,700",
        "fact",
        False,
        [(PMR, "the correct price on booked loads, is $41,700.")],
    ),
    q(
        "q009",
        "How long were customers unable to create shipments when the main database's server certificate ran out "
        "in June 2024?",
        "52 minutes (09:14 to 10:06 Central)",
        "fact",
        True,
        [
            (PMC, "Customer impact: 52 minutes, 09:14 to 10:06 Central"),
            (SLA, "the pg-main certificate expiry (SEV1, 52 minutes)"),
        ],
    ),
    q(
        "q010",
        "What is the FY2025 monthly cloud budget?",
        "$410,000 per month ($372,000 for AWS and $38,000 for Snowflake)",
        "fact",
        False,
        [(COST, "The FY2025 cloud budget is $410,000 per month: $372,000 for AWS and $38,000 for Snowflake.")],
    ),
    q(
        "q011",
        "How long does the company have to honour a request to erase someone's personal information?",
        "Within 30 days",
        "fact",
        True,
        [(RET, "A verified deletion request from a customer or driver must be completed **within 30 days**.")],
    ),
    q(
        "q012",
        "What is the maximum duration of a db-admin access grant?",
        "2 hours",
        "fact",
        False,
        [
            (AC, "db-admin primary database write access DBA on call 2 hours"),
            (VAULT, "an active db-admin access grant (2 hours, approved by the DBA on call)"),
        ],
    ),
    q(
        "q013",
        "How many trained engineers share the weekly rotation of people who lead incident response?",
        "12 trained engineers",
        "fact",
        True,
        [(IR, "a weekly rotation of 12 trained engineers")],
    ),
    q(
        "q014",
        "What is max_slot_wal_keep_size set to on pg-main?",
        "200GB",
        "fact",
        False,
        [
            (PGO, "`max_slot_wal_keep_size = 200GB` on `pg-main` (set 2024-09-24)"),
            (CDC, "pg-main has max_slot_wal_keep_size = 200GB."),
            (PMD, "PLAT-903 Set max_slot_wal_keep_size = 200GB on pg-main"),
        ],
    ),
    q(
        "q015",
        "How often do services refresh their copy of the on/off switches that control features?",
        "Every 30 seconds",
        "fact",
        True,
        [
            (FF, "refreshes them every **30\nseconds**"),
            (PMR, "turning the flag off took effect within 30 seconds, the SDK refresh\ninterval"),
        ],
    ),
    q(
        "q016",
        "Who approves SLA credits above $5,000?",
        "The CFO, Ruth Adeyemi",
        "fact",
        False,
        [(SLA, "larger credits are approved by the CFO, Ruth Adeyemi.")],
    ),
    q(
        "q017",
        "How long does it take to get archived logs back out of cold storage?",
        "About 12 hours",
        "fact",
        True,
        [(LOG, "Restoring archived logs from Glacier takes about 12 hours")],
    ),
    q(
        "q018",
        "What is the acknowledgement target for a SEV3 incident?",
        "1 hour during business hours (08:00–18:00 Central), otherwise by 10:00 the next business day",
        "fact",
        False,
        [
            (
                SEV,
                "Acknowledge within **1 hour**\n"
                "during business hours (08:00–18:00 Central), otherwise by 10:00 the next business day.",
            )
        ],
    ),
    # ---- how-to ----
    q(
        "q019",
        "How do I roll back a bad release with Conveyor?",
        "Run `conveyor rollback <service> --env prod`, then pin the service with `conveyor pin`",
        "how-to",
        False,
        [
            (RB, "To return to the previous stable release:\n\n```\nconveyor rollback shipment-api --env prod\n```"),
            (FAQ, "`conveyor rollback <service> --env prod`, then `conveyor pin <service> --env prod --reason ...`."),
        ],
        NOT_DEPRECATED,
    ),
    q(
        "q020",
        "Someone accidentally pasted a password into a chat channel. What should they do?",
        "Declare a SEV2 security incident, page security, and rotate the secret within 4 hours "
        "(within 1 hour, as a SEV1, if it was exposed publicly)",
        "how-to",
        True,
        [
            (
                SEC,
                '1. Declare a security incident: `/flare declare sev2 "possible secret exposure"` and\n'
                "   `/flare page security`.\n"
                "2. **Rotate within 4 hours** of discovery.",
            ),
            (FAQ, "Declare a SEV2 security incident, page security, and rotate the secret within 4 hours"),
            (
                VAULT,
                '2. /flare declare sev2 "possible secret exposure" and /flare page security.\n'
                "3. Rotate within 4 hours (within 1 hour and SEV1 if it was public).",
            ),
        ],
    ),
    q(
        "q021",
        "How do I get read-only credentials to query pg-main?",
        "`lf db connect pg-main --role readonly`; it routes to pg-main-c with Vault credentials valid for 8 hours",
        "how-to",
        False,
        [
            (PGO, "lf db connect pg-main --role readonly     # routes to pg-main-c"),
            (
                VAULT,
                "lf db connect pg-main --role readonly\n    # or, by hand:\n"
                "    vault read database/creds/pg-main-readonly",
            ),
            (
                FAQ,
                "`lf db connect pg-main --role readonly`. It routes to the replica `pg-main-c` with Vault\n"
                "credentials valid for 8 hours.",
            ),
        ],
    ),
    q(
        "q022",
        "The analytics copy of production data stopped updating because the database threw away the change "
        "stream's position. How do we recover?",
        "Tell #data-eng and the DBA on call, have the DBA drop and recreate the slot, reset the connector offsets, "
        "restart the connector with snapshot.mode=initial after 18:00 Central (about 9 hours), then run the dbt tests",
        "how-to",
        True,
        [
            (
                CDC,
                "1. Tell #data-eng and the DBA on call; warehouse data will be stale for hours.\n"
                "  2. Drop and recreate the slot (DBA), then reset the connector offsets.\n"
                "  3. Start the connector with snapshot.mode=initial; the full snapshot of the seven tables takes\n"
                "     about 9 hours and puts extra read load on the primary, so start it after 18:00 Central.\n"
                "  4. Run the dbt model tests on the RAW_CDC tables before announcing recovery.",
            )
        ],
    ),
    q(
        "q023",
        "How do I turn off a feature flag in production with the Switchyard CLI?",
        "`switchyard set <flag> --env prod --percent 0`",
        "how-to",
        False,
        [
            (RB, "`switchyard set <flag> --env prod --percent 0`"),
            (PMR, "switchyard set rate-engine.ml-pricing-v3 --env prod --percent 0"),
        ],
    ),
    q(
        "q024",
        "What are the steps to move production to the standby region if the primary region goes down?",
        "The IC declares the incident and freezes deploys, promotes the cross-region database replica, scales up "
        "the standby, switches DNS to us-west-2, then checks the SLO dashboards and posts on the status page",
        "how-to",
        True,
        [
            (
                DR,
                "1. The IC declares the incident (or drill) and freezes all deploys.\n"
                "2. Promote the database: patronictl -c /etc/patroni/patroni-dr.yml failover --candidate pg-main-dr\n"
                "3. Scale up the standby: lf dr scale-up --region us-west-2\n"
                "4. Move traffic: lf dr switch-dns --to us-west-2 (api.lumenfreight.com has a 60 second TTL).\n"
                "5. Check the SLO dashboards in Lighthouse and post on the status page.",
            )
        ],
    ),
    q(
        "q025",
        "How do I request prod-operator access with the lf CLI?",
        '`lf access request prod-operator --reason "..." --duration 4h`; the service owner or the on-call primary '
        "approves it, for at most 8 hours",
        "how-to",
        False,
        [
            (AC, 'lf access request prod-operator --reason "FLR-2291 scale rate-engine" --duration 4h'),
            (FAQ, "prod-operator needs the service owner or the on-call primary (8 hours max)"),
        ],
    ),
    q(
        "q026",
        "How do I get back rows that someone deleted by mistake from the main database?",
        "Do a point-in-time restore to a separate restore host, to just before the bad transaction, and copy the "
        "affected rows back with a reviewed script",
        "how-to",
        True,
        [
            (
                BR,
                "Use PITR for accidental deletes or data corruption. Prefer restoring to a separate host and copying "
                "the\naffected rows back;",
            )
        ],
        CURRENT_ONLY,
    ),
    q(
        "q027",
        "How should the retention of a Kafka topic be changed in production?",
        "Through Terraform in the kafka-topics repository, reviewed by @lumen/platform-kafka with the capacity "
        "checklist; kafka-configs.sh only as an incident mitigation",
        "how-to",
        False,
        [
            (
                KO,
                "Topics are managed as Terraform in the `kafka-topics` repository. Every change needs a review\n"
                "from `@lumen/platform-kafka` (CODEOWNERS, INC-113).",
            )
        ],
        NOT_DEPRECATED,
    ),
    q(
        "q028",
        "I'm the support engineer writing the public outage updates for an incident. What do I do first?",
        "Join the incident channel and say you are Comms Lead, ask the IC what is broken, for whom and since when "
        "(UTC), then draft the first post and get the IC's approval",
        "how-to",
        True,
        [
            (
                STP,
                "1. Join the incident channel and say you are Comms Lead.\n"
                "2. Ask the IC: what is broken, for whom, since when (UTC)?\n"
                "3. Draft the first post and get IC approval.",
            )
        ],
    ),
    q(
        "q029",
        "How does the weekly platform on-call handoff work?",
        "Every Monday at 10:00 Central the outgoing and incoming primary hold a 15-minute handoff call and post a "
        "handoff note in #oncall-platform",
        "how-to",
        False,
        [
            (
                ONC,
                "**Handoff is every Monday at 10:00 Central (America/Chicago)**. The outgoing\n"
                "and incoming primary hold a 15-minute handoff call and post a handoff note in `#oncall-platform`",
            )
        ],
        NOT_DEPRECATED,
    ),
    # ---- definition ----
    q(
        "q030",
        "What is an accessorial?",
        "A charge on top of the line-haul rate, such as detention, liftgate or inside delivery",
        "definition",
        False,
        [
            (
                GLOSS,
                "**Accessorial** – a charge on top of the line-haul rate, such as detention, liftgate, or\n"
                "  inside delivery.",
            )
        ],
    ),
    q(
        "q031",
        "What is the name for the firm whose trucks physically haul a load?",
        "The carrier",
        "definition",
        True,
        [(GLOSS, "**Carrier** – the trucking company that moves the freight.")],
    ),
    q(
        "q032",
        "What is a burn rate?",
        "How fast the error budget is being consumed relative to an even spend",
        "definition",
        False,
        [(GLOSS, "**Burn rate** – how fast the error budget is being consumed relative to an even spend")],
    ),
    q(
        "q033",
        "What is the term for a pickup city and delivery city pair that prices are quoted for?",
        "A lane",
        "definition",
        True,
        [(GLOSS, "**Lane** – an origin–destination pair")],
    ),
    q(
        "q034",
        "What is Flare?",
        "The Slack incident bot (/flare declare, /flare page, /flare note, /flare resolve)",
        "definition",
        False,
        [(GLOSS, "**Flare** – the Slack incident bot")],
    ),
    q(
        "q035",
        "What is it called when a load is offered to a trucking firm after the shipper accepts a price?",
        "A tender (the load is booked)",
        "definition",
        True,
        [(GLOSS, "**Tender** – offering a load to a carrier; a quote that the shipper accepts becomes a tender")],
    ),
    q(
        "q036",
        "What does RTO mean?",
        "Recovery Time Objective: the maximum time to restore service",
        "definition",
        False,
        [(GLOSS, "**RTO** – Recovery Time Objective: the maximum time to restore service.")],
    ),
    q(
        "q037",
        "Who is the person in charge of an outage response who sets priorities but does not debug?",
        "The Incident Commander (IC)",
        "definition",
        True,
        [
            (
                IR,
                "**Incident Commander (IC)** – owns the incident: sets priorities, assigns work, decides on\n"
                "  severity changes, and declares the incident resolved. The IC does not debug.",
            ),
            (GLOSS, "**IC** – Incident Commander, the person leading an incident response."),
        ],
    ),
    q(
        "q038",
        "What is an ops flag in Switchyard?",
        "A kill switch or load-shedding flag; permanent and reviewed yearly",
        "definition",
        False,
        [(FF, "| ops | kill switches and load shedding | permanent, reviewed yearly |")],
    ),
    q(
        "q039",
        "What do we call deliberately making an outdated interface version fail for an hour shortly before it is "
        "retired?",
        "A brownout: the deprecated version returns HTTP 410 Gone for one hour, twice in the last 60 days before "
        "the sunset",
        "definition",
        True,
        [
            (
                API,
                "In the last 60 days before a sunset, two scheduled brownouts of one hour each make the deprecated\n"
                "version return HTTP 410 Gone",
            )
        ],
    ),
    q(
        "q040",
        "What is the name of the target for how many minutes of recent writes we could afford to lose when a "
        "database fails?",
        "The recovery point objective (RPO); 5 minutes for pg-main",
        "definition",
        True,
        [
            (
                GLOSS,
                "**RPO** – Recovery Point Objective: the maximum data loss, measured in time, that is acceptable\n"
                "  after a failure. 5 minutes for `pg-main`.",
            )
        ],
    ),
    # ---- comparison ----
    q(
        "q041",
        "How does the internal availability goal for the shipment interface compare with what Enterprise "
        "customers are promised in their contracts?",
        "The internal SLO is 99.95%; the contractual SLA is 99.9% monthly",
        "comparison",
        True,
        [
            (SLA, "Internally, engineering targets a stricter 99.95% SLO for the shipment API."),
            (GLOSS, "The shipment API's SLO is 99.95%; the Enterprise SLA is\n  99.9%."),
            (
                SLO,
                "SLOs are internal targets and are stricter than the contractual SLA offered to Enterprise customers "
                "(99.9% monthly availability of the shipment API and rate quotes)",
            ),
        ],
    ),
    q(
        "q042",
        "How did full restore times of pg-main compare between wal-g and pgBackRest?",
        "3 hours 50 minutes with wal-g against 41 minutes with pgBackRest",
        "comparison",
        False,
        [
            (ADR21, "Full restore 3 h 50 min 41 min"),
            (
                DR,
                "2023-10-18 Database restore (wal-g) Failed restore took 3 h 50 min against a 1 h target; led to "
                "ADR-0021\n2024-01-17 Tabletop: ransomware in an AWS account Passed break-glass instructions were out "
                "of date\n2024-04-17 Database restore (pgBackRest) Passed restore of 2.1 TB in 41 min",
            ),
        ],
    ),
    q(
        "q043",
        "How did moving traffic to a new version differ between the old deploy jobs used until 2022 and today's "
        "pipeline?",
        "The old blue/green switch moved 100% of traffic at once with no canary; today a canary goes 5%, 25%, 50% "
        "then 100% with automated analysis",
        "comparison",
        True,
        [
            (JEN, "There was no canary: 100% of traffic moved at once."),
            (DEP, "| 1 | 5% | 10 minutes |\n| 2 | 25% | 10 minutes |\n| 3 | 50% | 10 minutes |\n| 4 | 100% | – |"),
        ],
    ),
    q(
        "q044",
        "How do the acknowledgement targets for SEV1 and SEV2 incidents differ?",
        "SEV1: 5 minutes; SEV2: 15 minutes",
        "comparison",
        False,
        [
            (
                SEV,
                "| SEV1 | 5 min | 15 min | every 30 min | required (5 business days) |\n"
                "| SEV2 | 15 min | 30 min | every 60 min | required (10 business days) |",
            ),
            (FAQ, "For a SEV1 the acknowledgement target is also 5 minutes, for a SEV2 15\nminutes."),
        ],
        NOT_DEPRECATED,
    ),
    q(
        "q045",
        "How do the deadlines for disabling a departing person's login differ between someone who resigns and "
        "someone who is let go?",
        "Resigning: at 17:00 local time on the last working day; let go: within 1 hour of notice",
        "comparison",
        True,
        [(OFF, "Okta account deactivated 17:00 local time on the last working day within 1 hour of notice")],
        NOT_DEPRECATED,
    ),
    q(
        "q046",
        "How did the MFA rules of the 2021 Access and Offboarding Policy differ from the 2024 Access Control Policy?",
        "2021 accepted SMS codes and TOTP apps; 2024 requires hardware security keys (YubiKey, WebAuthn) and "
        "accepts neither SMS nor TOTP",
        "comparison",
        False,
        [
            (AC21, "SMS codes and\nauthenticator apps (TOTP) were both accepted."),
            (
                AC,
                "Hardware security keys (YubiKey, WebAuthn) are required for every role above eng-base. SMS and TOTP "
                "codes are not accepted.",
            ),
        ],
    ),
    q(
        "q047",
        "According to the 2024 decision, is it cheaper to run our event-streaming cluster ourselves or to buy "
        "Amazon's managed service, and by how much?",
        "Running it ourselves: $9,800 per month against a $21,500 per month quote for the managed service",
        "comparison",
        True,
        [
            (
                ADR19,
                "the quote for our 2024 size was $21,500 per month against $9,800 per\n"
                "month for the self-managed cluster.",
            ),
            (COST, "Kafka stayed self-managed rather than Amazon MSK: $9,800 per month against a quote of $21,500"),
        ],
    ),
    q(
        "q048",
        "How do SUP ticket priorities P1, P2 and P3 differ in engineering response time?",
        "P1: within 1 hour, 24/7 (paged); P2: within 1 business day; P3: within 5 business days",
        "comparison",
        False,
        [
            (
                ESC,
                "| P1 | customer blocked, no workaround | within 1 hour, 24/7 (paged) |\n"
                "| P2 | degraded, workaround exists | within 1 business day |\n"
                "| P3 | question or minor bug | within 5 business days |",
            )
        ],
    ),
    q(
        "q049",
        "How did disk-space alerting on the message brokers change after the March 2023 tracking delay?",
        "Before: one alert at 90% that only opened a low-urgency ticket; after: a ticket at 75% and a page at 85%",
        "comparison",
        True,
        [
            (PMK, "The only disk alert at the time fired at\n  90% as a low-urgency ticket."),
            (KO, "| KafkaBrokerDisk | 75% | ticket |\n| KafkaBrokerDisk | 85% | page |"),
        ],
    ),
    # ---- multi-doc ----
    q(
        "q050",
        "Which follow-up actions from the June 2024 database certificate outage became security policy rules, "
        "and what do those rules require?",
        "Internal certificates are never issued by hand any more (cert-manager, 90-day certificates) under the "
        "Secrets Rotation Policy, and offboarding must transfer recurring operational tasks under the Offboarding "
        "Policy",
        "multi-doc",
        True,
        [
            (
                PMC,
                "INC-287 and INC-291 became rules in the Secrets Rotation Policy (2024); INC-289 is part of the "
                "Offboarding Policy.",
            ),
            (SEC, "Since 2024-08-30 no internal certificate may be issued by hand."),
            (
                OFF,
                "Transfer recurring operational tasks: calendar reminders, scheduled jobs running under personal "
                "credentials, certificate and domain renewals, vendor contract renewals.",
            ),
        ],
    ),
    q(
        "q051",
        "What caused the 2024-09-10 WAL growth on pg-main, and which protections were added to pg-main and the "
        "CDC connector afterwards?",
        "A Kafka Connect upgrade pointed offset.storage.topic at a new empty topic, so the Debezium task failed and "
        "its slot retained 410 GB of WAL; afterwards came the PgReplicationSlotWAL alert (50 GB ticket, 150 GB "
        "page), max_slot_wal_keep_size = 200GB and the CdcConnectorNotRunning alert",
        "multi-doc",
        False,
        [
            (
                PMD,
                "The new worker configuration template set offset.storage.topic to a new, empty topic instead of "
                "connect-cdc-offsets.",
            ),
            (
                PGO,
                "- the PgReplicationSlotWAL alert (50 GB ticket, 150 GB page);\n"
                "- `max_slot_wal_keep_size = 200GB` on `pg-main` (set 2024-09-24).",
            ),
            (CDC, "CdcConnectorNotRunning was added as action item DATA-341 after the 2024-09-10 incident"),
        ],
    ),
    q(
        "q052",
        "After the January 2025 pricing mistake caused by a toggle switched on in the wrong environment, what "
        "safeguards were added to the toggle service?",
        "Production changes above 50% need a second approver, and the UI and CLI no longer have a default "
        "environment (since 2025-02-14)",
        "multi-doc",
        True,
        [
            (
                PMR,
                "INC-402 Production flag changes above 50% need a second approver in Switchyard Grace Kim done "
                "2025-02-14\nINC-403 Remove the default environment from the Switchyard UI and CLI Grace Kim done "
                "2025-02-14",
            ),
            (
                FF,
                "The explicit environment and the second approver were introduced on 2025-02-14 as action items\n"
                "of the rate-engine mispricing incident of 2025-01-28",
            ),
        ],
    ),
    q(
        "q053",
        "Why was ADR-0007 superseded, and what replaced ZooKeeper in kafka-events?",
        "ZooKeeper mode was deprecated in Kafka 3.5 and removed in 4.0 (and scaling was too slow in the 2023 disk "
        "incident); ADR-0019 moved kafka-events to KRaft mode with 3 dedicated controllers",
        "multi-doc",
        False,
        [
            (ADR7, "Superseded by **ADR-0019: Migrate kafka-events to KRaft mode** (2024-02-20)."),
            (
                ADR19,
                "ZooKeeper mode was deprecated in Kafka 3.5 and is removed in Kafka 4.0, so staying on\n"
                "  ZooKeeper would block upgrades.",
            ),
        ],
    ),
    q(
        "q054",
        "What credit did Enterprise customers get for the June 2024 database certificate outage, and which rule "
        "of the credit policy set that amount?",
        "10% of their June platform fee, because availability was 99.88%: below 99.9% but not below 99.5%",
        "multi-doc",
        True,
        [
            (
                PMC,
                "June availability of the shipment API was 99.88%, below the 99.9% Enterprise SLA, so 6 Enterprise "
                "customers who requested it received a 10% service credit",
            ),
            (SLA, "99.9% or higher none below 99.9% 10% below 99.5% 25% below 99.0% 50%"),
        ],
    ),
    q(
        "q055",
        "How does data get from pg-main into the MARTS models, and how often does each step run?",
        "Debezium streams changes to Kafka CDC topics, warehouse-loader loads them into RAW_CDC every 15 minutes, "
        "and the dbt_hourly DAG builds the models at 20 minutes past every hour",
        "multi-doc",
        False,
        [
            (CDC, "-> warehouse-loader (runs every 15 minutes)"),
            (
                WH,
                "Airflow runs the DAG dbt_hourly at 20 minutes past every hour, after the warehouse-loader's\n"
                "15-minute cycle.",
            ),
        ],
    ),
    q(
        "q056",
        "Can I release a new feature during Thanksgiving week or while a critical outage is open, and can I still "
        "undo a release at those times?",
        "No new releases: the peak freeze (2025-11-24 to 2025-12-02) and an open SEV1 stop non-mitigation deploys; "
        "rollbacks are allowed at any time, including during freezes, without approval",
        "multi-doc",
        True,
        [
            (
                DEP,
                "- **Peak freeze:** from the Monday before US Thanksgiving through the following Tuesday, the\n"
                "  busiest freight week of the year. In 2025 this is 2025-11-24 to 2025-12-02.\n"
                "- **Year-end freeze:** 2025-12-22 to 2026-01-02.\n"
                "- During an open SEV1 all non-mitigation deploys are frozen",
            ),
            (RB, "Rollbacks are allowed at any time, including inside deploy freezes, and do\nnot need approval."),
        ],
    ),
    q(
        "q057",
        "What does the Comms Lead do in a SEV1 incident, and how often must status page updates be posted?",
        "A Support engineer writes the status page posts and customer messages (the IC approves the first); the "
        "first post within 15 minutes of declaring, then an update every 30 minutes",
        "multi-doc",
        False,
        [
            (
                IR,
                "**Comms Lead** – for SEV1 and SEV2, a Support engineer who writes status page posts and\n"
                "  customer messages.",
            ),
            (
                STP,
                "SEV1: always. The first post must be published within 15 minutes of declaring the incident, then\n"
                "updated every 30 minutes until resolved.",
            ),
            (ESC, "In SEV1 and SEV2 incidents a Tier 2 engineer acts as **Comms Lead** and owns\nstatus page posts."),
        ],
    ),
    q(
        "q058",
        "How long after joining can a new engineer take their first on-call shifts, and when can they train to "
        "lead incident responses?",
        "After three months and two shadow shifts; Incident Commander training after 12 months and two primary "
        "rotations",
        "multi-doc",
        True,
        [
            (ONC, "New engineers join the rotation after three months at the company and after two shadow shifts"),
            (ONB, "Incident Commander training after 12 months and two primary rotations"),
        ],
        NOT_DEPRECATED,
    ),
    q(
        "q059",
        "How long are pgBackRest backups kept, and what does that mean for customer data deletion requests?",
        "35 days; backups are not edited, so deleted data disappears from them within 35 days and the deletion "
        "job must be re-run if a backup from that window is restored",
        "multi-doc",
        False,
        [
            (BR, "Retention: 35 days (repo1-retention-full=5 with weekly full backups)."),
            (
                RET,
                "Because backups are kept for 35 days, deleted data disappears from them\n"
                "within 35 days; if a backup is restored in that window the deletion job must be re-run.",
            ),
        ],
        CURRENT_ONLY,
    ),
    q(
        "q060",
        "During the March 2023 streaming outage, why were no location updates lost, and what now stops a "
        "retention change from filling the brokers' disks?",
        "The ingest edge buffered pings in Redis for up to six hours and replayed them; every topic now needs a "
        "retention.bytes cap and retention changes go through a capacity checklist",
        "multi-doc",
        True,
        [
            (
                PMK,
                "No pings were lost: the ingest edge buffers pings in Redis for up to six hours and replayed them\n"
                "once the brokers recovered.",
            ),
            (
                KO,
                "Every topic must have a `retention.bytes` cap (action item INC-114 from the 2023-03-14 disk\n"
                "exhaustion incident).",
            ),
        ],
    ),
)

if __name__ == "__main__":
    sys.exit(main())
