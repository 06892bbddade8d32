"""The sweep leaderboard as CSV, Markdown and a rich terminal table, from the ``sweep.json`` record."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

Sweep = Mapping[str, Any]
TERMINAL_EXTRA_METRICS = 3


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _signed(value: float) -> str:
    return f"{value:+.3f}"


def ordered_records(sweep: Sweep) -> list[Mapping[str, Any]]:
    """Variant records best first (the order stored in ``sweep["ranking"]``)."""
    by_name = {r["name"]: r for r in sweep["variants"]}
    return [by_name[name] for name in sweep["ranking"]]


def paired_result(sweep: Sweep, variant: str, metric: str) -> Mapping[str, Any] | None:
    """The paired test of ``variant`` vs the baseline on ``metric`` (None for the baseline or a missing metric)."""
    return sweep["paired_tests"].get(variant, {}).get(metric)


def difference_text(sweep: Sweep, variant: str, metric: str, with_ci: bool = True) -> str:
    """``+0.021 [-0.004, +0.046] p=0.031 ▲``, ``baseline`` for the baseline, empty when not testable."""
    if variant == sweep["baseline"]:
        return "baseline"
    test = paired_result(sweep, variant, metric)
    if test is None:
        return ""
    interval = f" [{_signed(test['low'])}, {_signed(test['high'])}]" if with_ci else ""
    marker = f" {test['marker']}" if test["marker"] else ""
    return f"{_signed(test['mean_diff'])}{interval} p={test['p_holm']:.3g}{marker}"


def _ci_text(record: Mapping[str, Any], metric: str) -> str:
    mean = record.get("metrics", {}).get(metric)
    if mean is None:
        return ""
    low, high = record.get("ci", {}).get(metric, (None, None))
    if low is None:
        return _fmt(mean)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def csv_text(sweep: Sweep) -> str:
    """One row per variant (best first): axes, each metric's mean and CI, latency, ingest work, paired tests."""
    metrics: Sequence[str] = sweep["metrics"]
    axes: Sequence[str] = sweep["axes"]
    header = ["rank", "variant", *(f"axis:{a}" for a in axes)]
    for metric in metrics:
        header += [metric, f"{metric}_ci_low", f"{metric}_ci_high"]
    header += ["latency_p50_ms", "latency_p95_ms", "ingest_seconds", "chunks_embedded", "chunks_total"]
    for metric in metrics:
        header += [f"{metric}_diff", f"{metric}_diff_low", f"{metric}_diff_high", f"{metric}_p", f"{metric}_p_holm"]
        header.append(f"{metric}_significant")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for rank, record in enumerate(ordered_records(sweep), start=1):
        row: list[Any] = [rank, record["name"], *(record.get("axes", {}).get(a, "") for a in axes)]
        for metric in metrics:
            low, high = record.get("ci", {}).get(metric, ("", ""))
            row += [record.get("metrics", {}).get(metric, ""), low, high]
        latency = record.get("latency_ms", {})
        ingest = record.get("ingest", {})
        row += [latency.get("p50", ""), latency.get("p95", ""), ingest.get("seconds", "")]
        row += [ingest.get("chunks_embedded", ""), ingest.get("chunks_total", "")]
        for metric in metrics:
            test = paired_result(sweep, record["name"], metric) or {}
            row += [test.get(k, "") for k in ("mean_diff", "low", "high", "p_value", "p_holm")]
            row.append({"▲": "win", "▼": "loss"}.get(test.get("marker", ""), ""))
        writer.writerow(row)
    return buffer.getvalue()


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown_text(sweep: Sweep) -> str:
    """The leaderboard and the significance table as Markdown."""
    metrics: Sequence[str] = sweep["metrics"]
    primary = sweep["primary_metric"]
    others = [m for m in metrics if m != primary]
    lines = [
        f"# Sweep `{sweep['name']}`",
        "",
        f"Dataset `{sweep['dataset']}` (split {sweep['split']}), {sweep['counts'].get('questions', '?')} questions; "
        f"baseline `{sweep['baseline']}`; sorted by {primary} (mean and bootstrap 95% CI).",
        "",
        _md_row(["#", "variant", f"{primary} [95% CI]", *others, "p50 ms", "p95 ms", "embedded", f"Δ {primary}"]),
        _md_row(["---:", "---", "---", *(["---:"] * len(others)), "---:", "---:", "---:", "---"]),
    ]
    for rank, record in enumerate(ordered_records(sweep), start=1):
        latency = record.get("latency_ms", {})
        cells = [
            str(rank),
            f"`{record['name']}`",
            _ci_text(record, primary),
            *(_fmt(record.get("metrics", {}).get(m)) for m in others),
            _fmt(latency.get("p50"), 1),
            _fmt(latency.get("p95"), 1),
            _fmt(record.get("ingest", {}).get("chunks_embedded")),
            difference_text(sweep, record["name"], primary),
        ]
        lines.append(_md_row(cells))
    lines += ["", *significance_markdown(sweep), "", *embedding_work_lines(sweep)]
    if sweep.get("failed"):
        lines += ["", "## Failed variants", ""]
        lines += [f"- `{f['name']}`: {f['error']}" for f in sweep["failed"]]
    return "\n".join(lines) + "\n"


def significance_markdown(sweep: Sweep) -> list[str]:
    metrics: Sequence[str] = sweep["metrics"]
    lines = [
        f"## Paired tests against `{sweep['baseline']}`",
        "",
        f"Mean difference (variant − baseline), {sweep['paired_method']} test, p Holm-adjusted over the variants; "
        f"▲/▼ = significant win/loss at α={sweep['alpha']}.",
        "",
        _md_row(["variant", *metrics]),
        _md_row(["---", *(["---"] * len(metrics))]),
    ]
    for record in ordered_records(sweep):
        if record["name"] == sweep["baseline"]:
            continue
        lines.append(
            _md_row([f"`{record['name']}`", *(difference_text(sweep, record["name"], m, False) for m in metrics)])
        )
    return lines


def embedding_work_lines(sweep: Sweep) -> list[str]:
    """The two figures the sweep promises: chunks it embedded vs what independent cold ingests would embed."""
    work = sweep["embedding_work"]
    line = (
        f"Embedding work: this sweep embedded {work['chunks_embedded']} chunks; "
        f"{len(sweep['variants'])} independent cold ingests would embed {work['chunks_indexed_total']} "
        f"(the chunks indexed across all variants); ingest took {work['ingest_seconds']:.1f}s in total."
    )
    extra = work.get("texts_embedded", work["chunks_embedded"]) - work["chunks_embedded"]
    if extra > 0:
        line += f" The semantic chunker also embedded {extra} sentence groups to find its boundaries."
    return [line]


def terminal_table(sweep: Sweep) -> Table:
    """A rich table: rank, variant, primary metric with CI, a few other metrics, latency, work, Δ vs baseline."""
    from rich.markup import escape
    from rich.table import Table

    primary = sweep["primary_metric"]
    others = [m for m in sweep["metrics"] if m != primary][:TERMINAL_EXTRA_METRICS]
    table = Table(title=f"sweep {sweep['name']} — sorted by {primary}", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("variant", overflow="fold")
    table.add_column(f"{primary} [95% CI]", justify="right")
    for metric in others:
        table.add_column(metric, justify="right")
    for label in ("p50 ms", "p95 ms", "embedded"):
        table.add_column(label, justify="right")
    table.add_column(f"Δ {primary} vs baseline", justify="right")
    for rank, record in enumerate(ordered_records(sweep), start=1):
        latency = record.get("latency_ms", {})
        diff = difference_text(sweep, record["name"], primary, with_ci=False)
        style = "green" if diff.endswith("▲") else "red" if diff.endswith("▼") else ""
        table.add_row(
            str(rank),
            escape(record["name"]),
            _ci_text(record, primary),
            *(_fmt(record.get("metrics", {}).get(m)) for m in others),
            _fmt(latency.get("p50"), 1),
            _fmt(latency.get("p95"), 1),
            _fmt(record.get("ingest", {}).get("chunks_embedded")),
            f"[{style}]{diff}[/{style}]" if style else diff,
        )
    return table
