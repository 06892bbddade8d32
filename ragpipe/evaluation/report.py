"""The self-contained HTML report of a sweep (inline CSS, plots as inline PNG data URIs; no external assets)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ragpipe.evaluation import plots
from ragpipe.evaluation.sweep_leaderboard import difference_text, embedding_work_lines, ordered_records

Sweep = Mapping[str, Any]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.82rem; margin: 0.8rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; vertical-align: top;
         white-space: nowrap; }
td.name { white-space: normal; min-width: 14rem; } .scroll { overflow-x: auto; }
th { background: #f4f4f4; } td.name, th.name { text-align: left; font-family: ui-monospace, monospace; }
tr.best td { background: #eef7ee; } tr.baseline td { background: #fdf1e7; }
.win { color: #2e8b57; font-weight: 600; } .loss { color: #c44e52; font-weight: 600; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
.meta { color: #555; font-size: 0.9rem; }
"""


def _cell(text: str, css_class: str = "") -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<td{attribute}>{escape(text)}</td>"


def _name_cell(name: str) -> str:
    """A variant name that may wrap after its commas."""
    return '<td class="name">' + ",<wbr>".join(escape(part) for part in name.split(",")) + "</td>"


def _diff_class(text: str) -> str:
    return "win" if text.endswith("▲") else "loss" if text.endswith("▼") else ""


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else ""


def _leaderboard(sweep: Sweep) -> str:
    primary = sweep["primary_metric"]
    others = [m for m in sweep["metrics"] if m != primary]
    head = ["#", "variant", f"{primary} [95% CI]", *others, "p50 ms", "p95 ms", "ingest s", "embedded", "chunks"]
    head.append(f"Δ {primary} vs baseline [CI]")
    rows = [
        "<tr>" + "".join(f'<th class="{"name" if h == "variant" else ""}">{escape(h)}</th>' for h in head) + "</tr>"
    ]
    best = sweep["best"]["name"]
    for rank, record in enumerate(ordered_records(sweep), start=1):
        metrics, ci = record.get("metrics", {}), record.get("ci", {})
        low, high = ci.get(primary, (None, None))
        primary_text = _num(metrics.get(primary)) + (f" [{low:.3f}, {high:.3f}]" if low is not None else "")
        latency, ingest = record.get("latency_ms", {}), record.get("ingest", {})
        diff = difference_text(sweep, record["name"], primary)
        css = "best" if record["name"] == best else "baseline" if record["name"] == sweep["baseline"] else ""
        cells = [
            _cell(str(rank)),
            _name_cell(record["name"]),
            _cell(primary_text),
            *(_cell(_num(metrics.get(m))) for m in others),
            _cell(_num(latency.get("p50"), 1)),
            _cell(_num(latency.get("p95"), 1)),
            _cell(_num(ingest.get("seconds"), 1)),
            _cell(str(ingest.get("chunks_embedded", ""))),
            _cell(str(ingest.get("chunks_total", ""))),
            _cell(diff, _diff_class(diff)),
        ]
        rows.append(f'<tr class="{css}">' + "".join(cells) + "</tr>")
    return '<div class="scroll"><table id="leaderboard">' + "".join(rows) + "</table></div>"


def _significance_table(sweep: Sweep) -> str:
    metrics: Sequence[str] = sweep["metrics"]
    rows = ['<tr><th class="name">variant</th>' + "".join(f"<th>{escape(m)}</th>" for m in metrics) + "</tr>"]
    for record in ordered_records(sweep):
        if record["name"] == sweep["baseline"]:
            continue
        cells = [_name_cell(record["name"])]
        for metric in metrics:
            text = difference_text(sweep, record["name"], metric, with_ci=False)
            interval = difference_text(sweep, record["name"], metric)
            css = f' class="{_diff_class(text)}"' if _diff_class(text) else ""
            cells.append(f'<td{css} title="{escape(interval)}">{escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<div class="scroll"><table id="significance">' + "".join(rows) + "</table></div>"


def _effects_table(effects: Mapping[str, Sequence[Mapping[str, Any]]], metric: str) -> str:
    rows = [
        f'<tr><th class="name">axis</th><th class="name">value</th><th>mean {escape(metric)}</th><th>variants</th></tr>'
    ]
    for axis, values in effects.items():
        for value in values:
            cells = [_cell(axis, "name"), _cell(str(value["value"]), "name"), _cell(_num(value["mean"]))]
            rows.append("<tr>" + "".join(cells) + _cell(str(value["n"])) + "</tr>")
    return '<table id="axis-effects">' + "".join(rows) + "</table>"


def _failures(sweep: Sweep) -> str:
    failed = sweep.get("failed") or []
    if not failed:
        return ""
    items = "".join(f"<li><code>{escape(f['name'])}</code>: {escape(f['error'])}</li>" for f in failed)
    return f'<h2>Failed variants</h2><ul id="failed">{items}</ul>'


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{escape(alt)}">'


def render_html(sweep: Sweep) -> str:
    """The whole report as one HTML string."""
    primary, baseline = sweep["primary_metric"], sweep["baseline"]
    records = ordered_records(sweep)
    tests = sweep["paired_tests"]
    counts = sweep.get("counts", {})
    skipped = counts.get("skipped", 0)
    sections = [
        f"<h1>Sweep <code>{escape(sweep['name'])}</code></h1>",
        f'<p class="meta">{escape(sweep.get("description", ""))}</p>' if sweep.get("description") else "",
        f'<p class="meta">Sweep file <code>{escape(str(sweep["sweep_file"]))}</code>; dataset '
        f"<code>{escape(str(sweep['dataset']))}</code> (split {escape(sweep['split'])}, "
        f"{counts.get('questions', '?')} questions, {skipped} skipped); {len(records)} variants; "
        f"baseline <code>{escape(baseline)}</code>; created {escape(sweep.get('created', ''))}.</p>",
        f'<p class="meta">{escape(embedding_work_lines(sweep)[0])}</p>',
        f"<h2>Leaderboard (by {escape(primary)})</h2>",
        _leaderboard(sweep),
        _failures(sweep),
        "<h2>Each metric per variant (mean, 95% bootstrap CI)</h2>",
        _img(plots.metric_bars(records, sweep["metrics"], baseline), "metrics per variant"),
        "<h2>Quality against latency</h2>",
        '<p class="meta">Latency is the p50 of the per-question query time (retrieval, plus the answer when answer '
        "metrics are on) measured during this run: compare variants of one run, on one machine.</p>",
        f'<p class="meta">Pareto front (no other variant is both better on {escape(primary)} and faster at p50): '
        + ", ".join(f"<code>{escape(n)}</code>" for n in sweep["pareto_front"])
        + "</p>",
        _img(plots.quality_latency(records, primary, sweep["pareto_front"]), "quality vs latency"),
        "<h2>Effect of each axis</h2>",
    ]
    effects = sweep["axis_effects"]
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
        f"{escape(sweep['paired_method'])} test with {sweep['n_resamples']} resamples, p-values Holm-adjusted over "
        f"the variants per metric (the CIs are not adjusted; the table shows them on hover); "
        f"▲/▼ = significant win/loss at α={sweep['alpha']}.</p>",
    ]
    if tests:
        sections.append(_img(plots.difference_forest(tests, records, primary, baseline), "differences to baseline"))
    sections += [
        _significance_table(sweep),
        f"<h2>Best variant: <code>{escape(sweep['best']['name'])}</code></h2>",
        '<p class="meta">Its full effective config (also written to <code>best_config.yaml</code>):</p>',
        f"<pre>{escape(sweep['best']['config_yaml'])}</pre>",
    ]
    body = "\n".join(s for s in sections if s)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>ragpipe sweep {escape(sweep['name'])}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
