"""The self-contained HTML report of a sweep (inline CSS, plots as inline PNG data URIs; no external assets)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ragpipe.evaluation import plots
from ragpipe.evaluation.sweep_leaderboard import capped_note, ci_text, difference_text, embedding_work_lines
from ragpipe.evaluation.sweep_result import LOSS, WIN, AxisEffect, SweepResult

LEADERBOARD_METRICS = 3
"""Metrics beside the primary one in the leaderboard; the tables under the metric plot hold every metric."""
MEANS_PER_TABLE = 8
TESTS_PER_TABLE = 5
"""Metric columns per table of means / of paired tests, so that each table fits a 1280 px window."""

NBSP_COMMA = ",\u00a0"

# Only the fixed-width ``0.712 [0.650, 0.770]`` cells are `nowrap`: a table's narrowest layout is set by its
# longest word, so it fits the page; variant names may also break anywhere. `.scroll` is the last resort.
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h1, h2, p, li { overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.82rem; margin: 0.8rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.4rem; text-align: right; vertical-align: top;
         white-space: normal; overflow-wrap: normal; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; font-weight: 600; }
td.name, th.name { text-align: left; font-family: ui-monospace, monospace; }
td.name { min-width: 9rem; overflow-wrap: anywhere; } td.ci { white-space: nowrap; }
tr.best td { background: #eef7ee; } tr.baseline td { background: #fdf1e7; }
.win { color: #2e8b57; font-weight: 600; } .loss { color: #c44e52; font-weight: 600; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
.meta { color: #555; font-size: 0.9rem; }
"""


def _cell(text: str, css_class: str = "", title: str = "") -> str:
    """A cell whose intervals stay on one line: ``0.712 [0.650, 0.770]`` may wrap only before ``[``."""
    attributes = (f' class="{css_class}"' if css_class else "") + (f' title="{escape(title)}"' if title else "")
    return f"<td{attributes}>{escape(text.replace(', ', NBSP_COMMA))}</td>"


def _name_cell(name: str) -> str:
    """A variant name that may wrap after its commas (and anywhere, if a part is still too long)."""
    return '<td class="name">' + ",<wbr>".join(escape(part) for part in name.split(",")) + "</td>"


def _head(labels: Sequence[str], names: Sequence[int] = (0,)) -> str:
    """A header row (columns ``names`` hold names); metric names may wrap after ``_`` and before ``@``."""
    cells = []
    for index, text in enumerate(labels):
        css = ' class="name"' if index in names else ""
        cells.append(f"<th{css}>" + escape(text).replace("_", "_<wbr>").replace("@", "<wbr>@") + "</th>")
    return "<tr>" + "".join(cells) + "</tr>"


def _table(table_id: str, rows: Sequence[str]) -> str:
    return f'<div class="scroll"><table id="{table_id}">' + "".join(rows) + "</table></div>"


def _groups(metrics: Sequence[str], size: int) -> list[Sequence[str]]:
    return [metrics[start : start + size] for start in range(0, len(metrics), size)]


def _group_id(name: str, index: int) -> str:
    return name if index == 0 else f"{name}-{index + 1}"


def _diff_class(text: str) -> str:
    return "win" if text.endswith(WIN) else "loss" if text.endswith(LOSS) else ""


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else ""


def _row_class(sweep: SweepResult, name: str) -> str:
    css = "best" if name == sweep.best.name else "baseline" if name == sweep.baseline else ""
    return f' class="{css}"' if css else ""


def _leaderboard(sweep: SweepResult) -> str:
    primary = sweep.primary_metric
    others = [m for m in sweep.metrics if m != primary][:LEADERBOARD_METRICS]
    work = ["p50\u00a0ms", "p95\u00a0ms", "ingest\u00a0s", "embedded", "chunks"]
    rows = [_head(["#", "variant", f"{primary} [95% CI]", *others, *work, f"Δ {primary} vs baseline [CI]"], (1,))]
    for rank, result in enumerate(sweep.ordered(), start=1):
        latency, ingest = result.latency_ms, result.ingest
        diff = difference_text(sweep, result.name, primary)
        cells = [
            _cell(str(rank)),
            _name_cell(result.name),
            _cell(ci_text(result, primary), "ci"),
            *(_cell(result.metric_text(m)) for m in others),
            _cell(_num(latency.get("p50"), 1)),
            _cell(_num(latency.get("p95"), 1)),
            _cell(_num(ingest.seconds, 1)),
            _cell(str(ingest.chunks_embedded)),
            _cell(str(ingest.chunks_total)),
            _cell(diff, _diff_class(diff)),
        ]
        rows.append(f"<tr{_row_class(sweep, result.name)}>" + "".join(cells) + "</tr>")
    return _table("leaderboard", rows)


def _metric_tables(sweep: SweepResult) -> str:
    """Every metric's mean per variant (best first), a few metrics per table; the CI shows on hover."""
    tables = []
    for index, group in enumerate(_groups(sweep.metrics, MEANS_PER_TABLE)):
        rows = [_head(["variant", *group])]
        for result in sweep.ordered():
            cells = [_cell(result.metric_text(m), title=ci_text(result, m)) for m in group]
            rows.append(f"<tr{_row_class(sweep, result.name)}>" + _name_cell(result.name) + "".join(cells) + "</tr>")
        tables.append(_table(_group_id("metrics", index), rows))
    return "".join(tables)


def _significance_tables(sweep: SweepResult) -> str:
    tables = []
    for index, group in enumerate(_groups(sweep.metrics, TESTS_PER_TABLE)):
        rows = [_head(["variant", *group])]
        for result in sweep.ordered():
            if result.name == sweep.baseline:
                continue
            cells = [_name_cell(result.name)]
            for metric in group:
                text = difference_text(sweep, result.name, metric, with_ci=False)
                cells.append(_cell(text, _diff_class(text), difference_text(sweep, result.name, metric)))
            rows.append("<tr>" + "".join(cells) + "</tr>")
        tables.append(_table(_group_id("significance", index), rows))
    return "".join(tables)


def _effects_table(effects: Mapping[str, Sequence[AxisEffect]], metric: str) -> str:
    rows = [_head(["axis", "value", f"mean {metric}", "variants"], names=(0, 1))]
    for axis, values in effects.items():
        for value in values:
            cells = [_cell(axis, "name"), _cell(value.value, "name"), _cell(_num(value.mean))]
            rows.append("<tr>" + "".join(cells) + _cell(str(value.n)) + "</tr>")
    return _table("axis-effects", rows)


def _failures(sweep: SweepResult) -> str:
    if not sweep.failed:
        return ""
    items = "".join(f"<li><code>{escape(f.name)}</code>: {escape(f.message)}</li>" for f in sweep.failed)
    return f'<h2>Failed variants</h2><ul id="failed">{items}</ul>'


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{escape(alt)}">'


def render_html(sweep: SweepResult) -> str:
    """The whole report as one HTML string."""
    primary, baseline = sweep.primary_metric, sweep.baseline
    records = sweep.ordered()
    tests = sweep.paired_tests
    sections = [
        f"<h1>Sweep <code>{escape(sweep.name)}</code></h1>",
        f'<p class="meta">{escape(sweep.description)}</p>' if sweep.description else "",
        f'<p class="meta">Sweep file <code>{escape(sweep.sweep_file)}</code>; dataset '
        f"<code>{escape(sweep.dataset)}</code> (split {escape(sweep.split)}, "
        f"{sweep.questions} questions, {sweep.skipped_questions} skipped); {len(records)} variants; "
        f"baseline <code>{escape(baseline)}</code>; created {escape(sweep.created)}.</p>",
        f'<p class="meta">{escape(embedding_work_lines(sweep)[0])}</p>',
        f"<h2>Leaderboard (by {escape(primary)})</h2>",
        _leaderboard(sweep),
        *(f'<p class="meta">{escape(line)}</p>' for line in capped_note(sweep)),
        _failures(sweep),
        "<h2>Each metric per variant (mean, 95% bootstrap CI)</h2>",
        _img(plots.metric_bars(records, sweep.metrics, baseline), "metrics per variant"),
        _metric_tables(sweep),
        "<h2>Quality against latency</h2>",
        '<p class="meta">Latency is the p50 of the per-question query time (retrieval, plus the answer when answer '
        "metrics are on) measured during this run: compare variants of one run, on one machine.</p>",
        f'<p class="meta">Pareto front (no other variant is both better on {escape(primary)} and faster at p50): '
        + ", ".join(f"<code>{escape(n)}</code>" for n in sweep.pareto_front)
        + "</p>",
        _img(plots.quality_latency(records, primary, sweep.pareto_front), "quality vs latency"),
        "<h2>Effect of each axis</h2>",
    ]
    effects = sweep.axis_effects
    if effects:
        sections += [
            f'<p class="meta">Mean {escape(primary)} over the variants sharing each axis value.</p>',
            _img(plots.axis_effects(effects, primary), "axis effects"),
            _effects_table(effects, primary),
        ]
    else:
        sections.append('<p class="meta">No axis takes more than one value.</p>')
    sections += [
        f"<h2>Paired significance tests against <code>{escape(baseline)}</code></h2>",
        f'<p class="meta">Mean per-question difference (variant − baseline) with its bootstrap 95% CI; '
        f"{escape(sweep.paired_method)} test with {sweep.n_resamples} resamples, p-values Holm-adjusted over "
        f"the variants per metric (the CIs are not adjusted; the table shows them on hover); "
        f"▲/▼ = significant win/loss at α={sweep.alpha}.</p>",
    ]
    if tests:
        sections.append(_img(plots.difference_forest(tests, records, primary, baseline), "differences to baseline"))
    sections += [
        _significance_tables(sweep),
        f"<h2>Best variant: <code>{escape(sweep.best.name)}</code></h2>",
        '<p class="meta">Its full effective config (also written to <code>best_config.yaml</code>):</p>',
        f"<pre>{escape(sweep.best.config_yaml)}</pre>",
    ]
    body = "\n".join(s for s in sections if s)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>ragpipe sweep {escape(sweep.name)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
