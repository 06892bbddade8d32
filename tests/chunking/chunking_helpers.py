"""Shared test data and checks for the chunker tests: a ~3-page Markdown runbook, slice and coverage checks."""

from __future__ import annotations

from ragpipe.types import Document

RUNBOOK = """\
Platform runbook, maintained by the platform team. It covers deploys, incidents and data.
Read it once end to end before your first on-call week.

# Deploys

Every service ships through the same pipeline. A merge to main builds an image, runs the
integration suite and promotes the image to staging. Production deploys are manual: an engineer
approves the release in the dashboard after checking the staging metrics for at least ten minutes.

Deploy windows are Monday to Thursday, 09:00–16:00 CET. Outside those hours you need approval from
the incident commander. Never deploy on a Friday afternoon; the on-call engineer will not thank you.

## Rollback

If error rates rise after a deploy, roll back first and investigate later. The command is
`deployctl rollback --service NAME --to PREVIOUS`. Rollbacks take about ninety seconds because the
previous image is still cached on every node. After a rollback:

- post a short note in #deploys with the service name and the release id;
- open a ticket tagged `rollback` and link the dashboard screenshot;
- keep the faulty release pinned so nobody promotes it again by accident.

A rollback that fails twice is an incident. Page the platform on-call and stop all other deploys.

## Canary releases

Large changes go out as canaries. The canary receives five percent of the traffic for thirty
minutes. The release controller compares latency p99, error rate and saturation between the canary
and the baseline. When any of the three is worse by more than the configured budget, the
controller aborts the canary and the release is marked as failed. Canary budgets live in the
service manifest under `release.canary`. Teams tune them per service; the defaults are strict.

# Incidents

An incident is any unplanned event that degrades a customer-facing service. Severity one means a
full outage or data loss; severity two means a partial outage or a serious degradation; severity
three covers everything else that still needs a coordinated response.

## Roles

1. The incident commander owns the response and makes the decisions.
2. The communications lead updates the status page every thirty minutes.
3. The scribe keeps a timeline in the incident document.
4. Subject-matter experts join on request and leave when their part is done.

## Postmortems

Every severity one and severity two incident gets a blameless postmortem within five working days.
The postmortem lists the timeline, the impact in numbers, the contributing factors and the action
items with owners and due dates. Action items without an owner are not action items.

Ünïcödé matters too: the Zürich office writes “Störung” for outage, the Tokyo office writes 障害,
and both terms must be searchable. Emoji in titles (🚒) are allowed but discouraged.

# Data

## Backups

Databases are backed up every night at 02:00 UTC and kept for thirty-five days. Weekly snapshots
are copied to a second region and kept for a year. Restores are tested every quarter: a random
database is restored into an isolated environment and its row counts are compared with production.

```bash
# this line is a comment inside a code block, not a heading
backupctl restore --db orders --at 2024-05-01T02:00Z --target sandbox
```

## Retention

Personal data is deleted thirty days after an account is closed. Logs are kept for ninety days;
audit logs for seven years. Requests to delete data earlier go through the privacy team, who check
legal holds before they approve anything. A deletion request that conflicts with a legal hold is
answered within five working days with an explanation of what is kept and why.

### Exceptions

Exceptions to the retention rules need written approval from legal and security. They are reviewed
every six months and expire automatically unless renewed.
"""


def assert_exact_slices(document: Document, chunks: list) -> None:
    """The core invariant: each chunk is the document slice its offsets name, with its doc id."""
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert chunk.doc_id == document.id
        assert chunk.text.strip() == chunk.text and chunk.text


def uncovered(document: Document, chunks: list) -> str:
    """Non-whitespace characters of the document that no chunk covers (should be empty)."""
    covered = bytearray(len(document.text))
    for chunk in chunks:
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    return "".join(ch for ch, flag in zip(document.text, covered, strict=True) if not flag and not ch.isspace())
