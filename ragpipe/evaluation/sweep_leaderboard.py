"""The sweep leaderboard as CSV, Markdown and a rich terminal table, from a :class:`SweepResult`."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ragpipe.evaluation.sweep_result import LOSS, WIN, PairedComparison, SweepResult
from ragpipe.evaluation.sweep_variant import CAPPED_NOTE, VariantResult

if TYPE_CHECKING:
    from rich.table import Table

TERMINAL_EXTRA_METRICS = 3


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _signed(value: float) -> str:
    return f"{value:+.3f}"


def difference_text(sweep: SweepResult, variant: str, metric: str, with_ci: bool = True) -> str:
    """``+0.021 [-0.004, +0.046] p=0.031 ▲``, ``baseline`` for the baseline, empty when not testable."""
    if variant == sweep.baseline:
        return "baseline"
    test = sweep.paired(variant, metric)
    if test is None:
        return ""
    interval = f" [{_signed(test.low)}, {_signed(test.high)}]" if with_ci else ""
    marker = f" {test.marker}" if test.marker else ""
    return f"{_signed(test.mean_diff)}{interval} p={test.p_holm:.3g}{marker}"


def ci_text(result: VariantResult, metric: str) -> str:
    """``0.712 [0.650, 0.770]``: the mean (``*`` when capped) and its 95% CI (the mean alone without a CI,
    empty without a mean)."""
    mean = result.metric_text(metric)
    if not mean or metric not in result.ci:
        return mean
    low, high = result.ci[metric]
    return f"{mean} [{low:.3f}, {high:.3f}]"


def capped_note(sweep: SweepResult) -> list[str]:
    """The footnote for ``*`` marks, when some variant has a capped metric."""
    return [CAPPED_NOTE] if any(result.capped for result in sweep.variants) else []


def _test_cells(test: PairedComparison | None) -> list[Any]:
    if test is None:
        return [""] * 6
    verdict = {WIN: "win", LOSS: "loss"}.get(test.marker, "")
    return [test.mean_diff, test.low, test.high, test.p_value, test.p_holm, verdict]


def csv_text(sweep: SweepResult) -> str:
    """One row per variant (best first): axes, each metric's mean and CI, latency, ingest work, paired tests."""
    metrics, axes = sweep.metrics, sweep.axes
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
    for rank, result in enumerate(sweep.ordered(), start=1):
        row: list[Any] = [rank, result.name, *(result.axes.get(a, "") for a in axes)]
        for metric in metrics:
            low, high = result.ci.get(metric, ("", ""))
            row += [result.metrics.get(metric, ""), low, high]
        latency, ingest = result.latency_ms, result.ingest
        row += [latency.get("p50", ""), latency.get("p95", ""), ingest.seconds]
        row += [ingest.chunks_embedded, ingest.chunks_total]
        for metric in metrics:
            row += _test_cells(sweep.paired(result.name, metric))
        writer.writerow(row)
    return buffer.getvalue()


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown_text(sweep: SweepResult) -> str:
    """The leaderboard and the significance table as Markdown."""
    primary = sweep.primary_metric
    others = [m for m in sweep.metrics if m != primary]
    lines = [
        f"# Sweep `{sweep.name}`",
        "",
        f"Dataset `{sweep.dataset}` (split {sweep.split}), {sweep.questions} questions; "
        f"baseline `{sweep.baseline}`; sorted by {primary} (mean and bootstrap 95% CI).",
        "",
        _md_row(["#", "variant", f"{primary} [95% CI]", *others, "p50 ms", "p95 ms", "embedded", f"Δ {primary}"]),
        _md_row(["---:", "---", "---", *(["---:"] * len(others)), "---:", "---:", "---:", "---"]),
    ]
    for rank, result in enumerate(sweep.ordered(), start=1):
        cells = [
            str(rank),
            f"`{result.name}`",
            ci_text(result, primary),
            *(result.metric_text(m) for m in others),
            _fmt(result.latency_ms.get("p50"), 1),
            _fmt(result.latency_ms.get("p95"), 1),
            _fmt(result.ingest.chunks_embedded),
            difference_text(sweep, result.name, primary),
        ]
        lines.append(_md_row(cells))
    lines += ["", *capped_note(sweep), "", *significance_markdown(sweep), "", *embedding_work_lines(sweep)]
    if sweep.failed:
        lines += ["", "## Failed variants", ""]
        lines += [f"- `{f.name}`: {f.message}" for f in sweep.failed]
    return "\n".join(lines) + "\n"


def significance_markdown(sweep: SweepResult) -> list[str]:
    """The paired tests against the baseline as a Markdown section."""
    metrics = sweep.metrics
    lines = [
        f"## Paired tests against `{sweep.baseline}`",
        "",
        f"Mean difference (variant − baseline), {sweep.paired_method} test, p Holm-adjusted over the variants; "
        f"▲/▼ = significant win/loss at α={sweep.alpha}.",
        "",
        _md_row(["variant", *metrics]),
        _md_row(["---", *(["---"] * len(metrics))]),
    ]
    for result in sweep.ordered():
        if result.name == sweep.baseline:
            continue
        lines.append(_md_row([f"`{result.name}`", *(difference_text(sweep, result.name, m, False) for m in metrics)]))
    return lines


def embedding_work_lines(sweep: SweepResult) -> list[str]:
    """The two figures the sweep promises: chunks it embedded vs what independent cold ingests would embed."""
    work = sweep.embedding_work
    line = (
        f"Embedding work: this sweep embedded {work.chunks_embedded} chunks; "
        f"{len(sweep.variants)} independent cold ingests would embed {work.chunks_indexed_total} "
        f"(the chunks indexed across all variants); ingest took {work.ingest_seconds:.1f}s in total."
    )
    extra = work.texts_embedded - work.chunks_embedded
    if extra > 0:
        line += f" The semantic chunker also embedded {extra} sentence groups to find its boundaries."
    return [line]


def terminal_table(sweep: SweepResult) -> Table:
    """A rich table: rank, variant, primary metric with CI, a few other metrics, latency, work, Δ vs baseline."""
    from rich.markup import escape
    from rich.table import Table

    primary = sweep.primary_metric
    others = [m for m in sweep.metrics if m != primary][:TERMINAL_EXTRA_METRICS]
    table = Table(title=f"sweep {sweep.name} — sorted by {primary}", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("variant", overflow="fold")
    table.add_column(f"{primary} [95% CI]", justify="right")
    for metric in others:
        table.add_column(metric, justify="right")
    for label in ("p50 ms", "p95 ms", "embedded"):
        table.add_column(label, justify="right")
    table.add_column(f"Δ {primary} vs baseline", justify="right")
    for rank, result in enumerate(sweep.ordered(), start=1):
        diff = difference_text(sweep, result.name, primary, with_ci=False)
        style = "green" if diff.endswith(WIN) else "red" if diff.endswith(LOSS) else ""
        table.add_row(
            str(rank),
            escape(result.name),
            ci_text(result, primary),
            *(result.metric_text(m) for m in others),
            _fmt(result.latency_ms.get("p50"), 1),
            _fmt(result.latency_ms.get("p95"), 1),
            _fmt(result.ingest.chunks_embedded),
            f"[{style}]{diff}[/{style}]" if style else diff,
        )
    return table
