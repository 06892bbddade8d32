"""``ragpipe eval -c CONFIG --dataset PATH``: ingest (reusing cached work), score, report, gate.

Exit codes: 0 success; 2 invalid config, dataset, metric name or option; 1 any other ragpipe error;
4 (``EXIT_REGRESSION``) a metric regressed against ``--baseline`` by more than ``--max-drop``
with significance (p < ``--alpha``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ragpipe.cli.common import EXIT_PARTIAL, ConfigOption, SetOption, config_path, handle_errors

if TYPE_CHECKING:
    from rich.console import Console

    from ragpipe.evaluation.gate import Regression
    from ragpipe.evaluation.result import EvalResult
    from ragpipe.types import IngestReport

EXIT_REGRESSION = 4
"""A metric fell by more than ``--max-drop`` against ``--baseline``, significantly."""


@handle_errors
def eval_(
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="A BEIR folder or a ragpipe QA .jsonl file")],
    config: ConfigOption = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="QA datasets: the folder to ingest (ids are paths relative to it); default: config sources"),
    ] = None,
    split: Annotated[str, typer.Option(help="BEIR split: qrels/<split>.tsv")] = "test",
    metrics: Annotated[
        str | None, typer.Option(help="Comma-separated, e.g. ndcg@10,recall@100,span_recall@5 (default: all)")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the summary JSON here ('-' prints it on stdout)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write per_question.jsonl, summary.json and summary.md into this folder")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="A summary.json to compare with; exit 4 on a significant regression")
    ] = None,
    max_drop: Annotated[float, typer.Option(help="Allowed absolute drop of each metric's mean")] = 0.01,
    alpha: Annotated[float, typer.Option(help="Significance level of the paired test")] = 0.05,
    answer_metrics: Annotated[
        bool, typer.Option("--answer-metrics/--no-answer-metrics", help="Generate and score answers")
    ] = True,
    llm_metrics: Annotated[
        bool | None,
        typer.Option(
            "--llm-metrics/--no-llm-metrics",
            help="ragas LLM-judged metrics; default: only when RAGPIPE_LLM_BASE_URL is set",
        ),
    ] = None,
    llm_model: Annotated[
        str | None, typer.Option(help="Judge model at RAGPIPE_LLM_BASE_URL (default: the first it lists)")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 3 when any dataset line, judgment or metric was skipped")
    ] = False,
    set_: SetOption = None,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Default: on a terminal")] = None,
) -> None:
    """Score CONFIG on a dataset: retrieval (document and span level) and answer metrics with 95% CIs.

    Exit codes: 0 ok, 2 invalid input, 1 other error, 3 items skipped (with --strict; they are listed),
    4 significant regression against --baseline.
    """
    from rich.console import Console

    from ragpipe.config.loading import load_config
    from ragpipe.config.settings import load_settings
    from ragpipe.evaluation.datasets import load_dataset
    from ragpipe.evaluation.gate import check_regression, compared_metrics
    from ragpipe.evaluation.metric_plan import plan_metrics
    from ragpipe.evaluation.names import DEFAULT_METRICS
    from ragpipe.evaluation.result import EvalResult
    from ragpipe.evaluation.runner import evaluate, pipeline_for_dataset

    settings = load_settings()
    metric_names = [m.strip() for m in metrics.split(",") if m.strip()] if metrics is not None else DEFAULT_METRICS
    plan_metrics(metric_names)  # fail on a bad name before any work
    base_summary = EvalResult.load_summary(baseline) if baseline is not None else None
    pipeline_config = load_config(config_path(config), set_ or ())
    eval_set = load_dataset(dataset, split, corpus, settings.data_dir)
    stdout_json = json_out is not None and str(json_out) == "-"
    console = Console(file=sys.stderr if stdout_json else sys.stdout, highlight=False, soft_wrap=True)
    with pipeline_for_dataset(pipeline_config, eval_set, settings) as pipeline:
        report = pipeline.ingest(progress=progress)
        _print_ingest(console, report, str(pipeline.index_dir))
        result = evaluate(
            pipeline, eval_set, metric_names, answer_metrics, progress, llm_metrics=llm_metrics, llm_model=llm_model
        )
    _print_result(console, result)
    summary = result.to_summary()
    if stdout_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    elif json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    if out is not None:
        result.write(out)
    if base_summary is not None:
        regressions = check_regression(summary, base_summary, max_drop, alpha)
        compared = compared_metrics(summary, base_summary)
        console.print(f"gate: compared {len(compared)} metric(s) with {baseline}: {', '.join(compared)}")
        capped = [m for m in compared if m in result.capped or m in base_summary.get("capped", {})]
        if capped:
            console.print(f"gate: capped by retrieval depth (the values are what it allows): {', '.join(capped)}")
        _print_gate(console, regressions, str(baseline), max_drop, alpha)
        if regressions:
            raise typer.Exit(EXIT_REGRESSION)
    if strict and result.skipped:
        console.print(f"[red]--strict: {len(result.skipped)} item(s) were skipped (listed above)[/red]")
        raise typer.Exit(EXIT_PARTIAL)


def _print_ingest(console: Console, report: IngestReport, index_dir: str) -> None:
    console.print(
        f"ingest: {report.documents_indexed} indexed ({report.chunks_embedded} chunks embedded), "
        f"{report.documents_unchanged} unchanged, {report.failed} failed in {report.seconds:.1f}s -> {index_dir}"
    )
    for failure in report.failures:
        console.print(f"  [red]failed[/red] {failure.path}: {failure.reason}")


def _print_result(console: Console, result: EvalResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{result.name} on {result.dataset} ({result.split}): {result.counts['questions']} questions")
    for column in ("metric", "mean", "95% CI", "n"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric, mean in result.metrics.items():
        low, high = result.ci[metric]
        label = f"{metric} (capped: {result.capped[metric]})" if metric in result.capped else metric
        table.add_row(label, f"{mean:.4f}", f"[{low:.4f}, {high:.4f}]", str(len(result.per_query[metric])))
    console.print(table)
    latency = ", ".join(f"{key} {value:.1f} ms" for key, value in result.latency_ms.items())
    console.print(f"latency per question: {latency}")
    for key, note in result.notes.items():
        console.print(f"[dim]{key}: {escape(note)}[/dim]")
    if result.skipped:
        console.print(f"[yellow]skipped {len(result.skipped)} item(s):[/yellow]")
        for where, why in result.skipped:
            console.print(f"  {escape(where)}: {escape(why)}")


def _print_gate(console: Console, regressions: list[Regression], baseline: str, max_drop: float, alpha: float) -> None:
    if not regressions:
        console.print(f"gate: no metric dropped by more than {max_drop} with p < {alpha} against {baseline}")
        return
    console.print(f"[red]gate: {len(regressions)} metric(s) regressed against {baseline}:[/red]")
    for regression in regressions:
        console.print(f"  {regression.describe()}")
