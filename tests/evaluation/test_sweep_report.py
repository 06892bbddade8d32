"""The sweep report's layout fits a 1280 px window, checked on its HTML and CSS (no browser needed).

A small CSS cascade (tag/class selectors, descendants, specificity, inheritance) gives each text its font
size, ``white-space`` and ``overflow-wrap``; a text's narrowest width is then its longest unbreakable run
at 0.6 em a character. A table fits when the sum of its columns' narrowest widths fits the page, as a
browser's automatic table layout then wraps instead of overflowing. (For this report the estimates came
within 3% of Chromium's min-content table widths; today's leaderboard of a 4-metric sweep already needed
1316 px of a 1200 px page.)
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from ragpipe.evaluation.names import DEFAULT_METRICS, LEXICAL_ANSWER_METRICS
from ragpipe.evaluation.report import render_html
from ragpipe.evaluation.sweep_compare import axis_effects, paired_comparisons, pareto_front, ranked
from ragpipe.evaluation.sweep_names import derive_name
from ragpipe.evaluation.sweep_result import BestVariant, EmbeddingWork, SweepResult
from ragpipe.evaluation.sweep_variant import IngestSummary, VariantFailure, VariantResult

WINDOW_PX = 1280
SCROLLBAR_PX = 17
CHAR_EM = 0.6
LONG_NAME = "rerank_with_the_local_cross_encoder_and_a_deliberately_long_variant_name_without_any_commas_at_all"
INHERITED = ("white-space", "overflow-wrap", "font-size")


def wide_sweep() -> SweepResult:
    """A realistic wide sweep: a 12-variant grid with long derived names plus a long-named best variant, the
    default metrics plus the lexical answer metrics (18), paired tests, and a failed variant with a long
    message. (Every answer metric would make 23; the metric plot alone would then take ~2.5 s to draw.)"""
    rng = np.random.default_rng(7)
    questions = [f"q{i}" for i in range(30)]
    metrics = [*DEFAULT_METRICS, *LEXICAL_ANSWER_METRICS]
    grid = [
        (("chunking.type", kind), ("chunking.chunk_size", size), ("retrieval.fusion.k", k))
        for kind in ("sentence", "token")
        for size in (128, 256, 512)
        for k in (10, 60)
    ]
    variants = []
    for index, settings in enumerate([*grid, (("rerank.type", "cross-encoder"),)]):
        name = derive_name(settings) if index < len(grid) else LONG_NAME
        lift = 0.3 if name == LONG_NAME else 0.0
        per_query = {
            m: dict(zip(questions, np.clip(rng.uniform(0.2, 0.7, 30) + lift, 0, 1), strict=True)) for m in metrics
        }
        means = {m: float(np.mean(list(scores.values()))) for m, scores in per_query.items()}
        variants.append(
            VariantResult(
                name,
                overrides=tuple(f"{path}={value}" for path, value in settings),
                axes={path: str(value) for path, value in settings},
                metrics=means,
                ci={m: (mean - 0.05, mean + 0.05) for m, mean in means.items()},
                per_query=per_query,
                latency_ms={"p50": float(rng.uniform(5, 50)), "p95": float(rng.uniform(50, 900))},
                ingest=IngestSummary(seconds=123.4, chunks_embedded=12345, texts_embedded=12345, chunks_total=54321),
            )
        )
    primary = "ndcg@10"
    order = ranked(variants, primary)
    return SweepResult(
        name="chunking-and-fusion-grid",
        description="Chunking strategy and size against the fusion constant.",
        sweep_file="/home/someone/projects/ragpipe/experiments/sweeps/chunking-and-fusion-grid.yaml",
        created="2025-01-01T12:00:00",
        dataset="/home/someone/projects/ragpipe/evals/handbook_qa.jsonl",
        split="test",
        primary_metric=primary,
        baseline=variants[0].name,
        alpha=0.05,
        paired_method="randomization",
        n_resamples=200,
        metrics=tuple(metrics),
        axes=("chunking.type", "chunking.chunk_size", "retrieval.fusion.k", "rerank.type"),
        questions=len(questions),
        skipped_questions=0,
        variants=tuple(variants),
        failed=(
            VariantFailure("broken", "ModelNotFoundError: model path '/" + "very-long-folder/" * 12 + "' is absent"),
        ),
        ranking=tuple(v.name for v in order),
        paired_tests=paired_comparisons(variants, variants[0].name, metrics, n_resamples=200),
        pareto_front=tuple(pareto_front(variants, primary)),
        axis_effects=axis_effects(variants, primary),
        best=BestVariant(order[0].name, {}, "name: best\n"),
        embedding_work=EmbeddingWork.of(variants),
    )


def css_rules(html: str) -> list[tuple[list[tuple[str, set[str]]], tuple[int, int, int], dict[str, str]]]:
    """``(compound selectors, specificity, declarations)`` of the report's ``<style>``, in source order."""
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style is not None
    rules = []
    for position, (selectors, body) in enumerate(re.findall(r"([^{}]+)\{([^}]*)\}", style.group(1))):
        declarations = dict((k.strip(), v.strip()) for k, v in (d.split(":", 1) for d in body.split(";") if ":" in d))
        for selector in selectors.split(","):
            compounds = [(m.group(1), set(m.group(2).split(".")[1:])) for m in map(_compound, selector.split())]
            specificity = (sum(len(c) for _, c in compounds), sum(1 for t, _ in compounds if t), position)
            rules.append((compounds, specificity, declarations))
    return rules


def _compound(text: str) -> re.Match[str]:
    match = re.fullmatch(r"([a-z0-9]*)((?:\.[\w-]+)*)", text)
    assert match is not None, f"unsupported selector {text!r}"
    return match


class Layout(HTMLParser):
    """Narrowest widths (px) of the report's tables (per cell) and text blocks, and each table's container."""

    VOID = frozenset({"meta", "img", "wbr", "br", "link"})
    BLOCKS = frozenset({"p", "li", "h1", "h2"})

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rules = css_rules(html)
        self.stack: list[tuple[str, set[str], dict[str, str]]] = []
        self.tables: list[dict] = []
        self.blocks: list[tuple[str, float, str]] = []
        self.pieces: list[tuple[str, dict[str, str]] | None] | None = None  # text runs of the open cell/block
        self.feed(html)

    def style(self, tag: str, classes: set[str]) -> dict[str, str]:
        parent = self.stack[-1][2] if self.stack else {"font-size": "16px"}
        chain = [(t, c) for t, c, _ in self.stack]
        matched = sorted(
            ((s, d) for comp, s, d in self.rules if _matches(comp, chain, tag, classes)), key=lambda m: m[0]
        )
        computed = {k: v for k, v in parent.items() if k in INHERITED}
        for _, declarations in matched:
            computed.update(declarations)
        size = computed.get("font-size", "16px")
        if size.endswith("rem"):
            computed["font-size"] = f"{float(size[:-3]) * 16}px"
        elif size.endswith("em"):
            computed["font-size"] = f"{float(size[:-2]) * float(parent['font-size'][:-2])}px"
        return computed

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        style = self.style(tag, classes)
        if tag == "wbr":
            if self.pieces is not None:
                self.pieces.append(None)
            return
        if tag == "table":
            self.tables.append({"id": values.get("id"), "parent": self.stack[-1][1], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") or (tag in self.BLOCKS and self.pieces is None):
            self.pieces = []
        if tag not in self.VOID:
            self.stack.append((tag, classes, style))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        _, _, style = self.stack.pop()
        if tag in ("td", "th") and self.pieces is not None:
            minimum = style.get("min-width", "0rem")
            floor = float(minimum[:-3]) * 16 if minimum.endswith("rem") else float(minimum.rstrip("px") or 0)
            self.tables[-1]["rows"][-1].append(max(floor, _narrowest(self.pieces)) + _sides(style))
            self.pieces = None
        elif tag in self.BLOCKS and self.pieces is not None and not any(t in ("td", "th") for t, _, _ in self.stack):
            self.blocks.append((tag, _narrowest(self.pieces), "".join(p[0] for p in self.pieces if p)))
            self.pieces = None

    def handle_data(self, data: str) -> None:
        if self.pieces is not None and self.stack:
            self.pieces.append((data, self.stack[-1][2]))


def _matches(
    compounds: list[tuple[str, set[str]]], chain: list[tuple[str, set[str]]], tag: str, classes: set[str]
) -> bool:
    def fits(compound: tuple[str, set[str]], element: tuple[str, set[str]]) -> bool:
        return (not compound[0] or compound[0] == element[0]) and compound[1] <= element[1]

    if not fits(compounds[-1], (tag, classes)):
        return False
    ancestors = iter(reversed(chain))
    return all(any(fits(compound, element) for element in ancestors) for compound in reversed(compounds[:-1]))


def _sides(style: dict[str, str]) -> float:
    """Left and right padding (the second value of ``padding``, in rem) plus a 1 px border."""
    values = style.get("padding", "0rem").split()
    return 2 * float(values[1 if len(values) > 1 else 0].removesuffix("rem")) * 16 + 1


def _narrowest(pieces: list[tuple[str, dict[str, str]] | None]) -> float:
    """The widest unbreakable run (px): breaks at spaces and ``<wbr>`` unless ``nowrap``, anywhere with
    ``overflow-wrap: anywhere``."""
    widest = run = 0.0
    for piece in pieces:
        if piece is None:
            if not any(p and p[1].get("white-space") == "nowrap" for p in pieces):
                widest, run = max(widest, run), 0.0
            continue
        text, style = piece
        char = CHAR_EM * float(style["font-size"][:-2])
        for letter in text:
            if letter in " \t\n" and style.get("white-space") != "nowrap":  # not a no-break space
                widest, run = max(widest, run), 0.0
            elif style.get("overflow-wrap") == "anywhere":
                widest, run = max(widest, run, char), 0.0
            else:
                run += char
    return max(widest, run)


@pytest.fixture(scope="module")
def report() -> tuple[SweepResult, str]:
    sweep = wide_sweep()
    return sweep, render_html(sweep)


def content_width(html: str) -> float:
    """The body's content width in a 1280 px window with a scrollbar (its max-width or what the window leaves)."""
    body = next(d for comp, _, d in css_rules(html) if comp == [("body", set())] and "max-width" in d)
    return min(float(body["max-width"].removesuffix("px")), WINDOW_PX - SCROLLBAR_PX - (_sides(body) - 1))


def test_every_table_and_text_block_fits_a_1280px_window(report: tuple[SweepResult, str]) -> None:
    html = report[1]
    layout = Layout(html)
    width = content_width(html)
    assert {t["id"] for t in layout.tables} >= {"leaderboard", "metrics", "significance", "axis-effects"}
    for table in layout.tables:
        columns = zip(*table["rows"], strict=True)
        narrowest = sum(max(column) for column in columns)
        assert narrowest <= width, f"table {table['id']} needs {narrowest:.0f}px, the page has {width:.0f}px"
        assert "scroll" in table["parent"], f"table {table['id']} is not in a scroll container"
    assert any(d.get("overflow-x") == "auto" for comp, _, d in css_rules(html) if comp == [("", {"scroll"})])
    long_texts = [b for b in layout.blocks if LONG_NAME in b[2] or "very-long-folder" in b[2]]
    assert {tag for tag, _, _ in long_texts} >= {"h2", "li", "p"}
    for tag, narrowest, text in layout.blocks:
        assert narrowest <= width, f"<{tag}> {text[:60]!r} needs {narrowest:.0f}px, the page has {width:.0f}px"


def test_the_leaderboard_ranks_every_variant_and_the_metric_tables_hold_every_metric(
    report: tuple[SweepResult, str],
) -> None:
    sweep, html = report
    leaderboard = html.split('<table id="leaderboard">', 1)[1].split("</table>", 1)[0]
    names = [re.sub(r"<wbr>", "", n) for n in re.findall(r'<td class="name">(.*?)</td>', leaderboard)]
    assert names == list(sweep.ranking) and names[0] == LONG_NAME
    shown = re.findall(r'<table id="metrics(?:-\d+)?"><tr>(.*?)</tr>', html)
    headers = [re.sub(r"<[^>]+>", "", h) for row in shown for h in re.findall(r"<th>(.*?)</th>", row)]
    assert headers == list(sweep.metrics)
    tests = re.findall(r'<table id="significance(?:-\d+)?"><tr>(.*?)</tr>', html)
    assert [re.sub(r"<[^>]+>", "", h) for row in tests for h in re.findall(r"<th>(.*?)</th>", row)] == headers


def test_capped_metrics_are_marked_in_every_table_and_explained() -> None:
    from dataclasses import replace

    from ragpipe.evaluation.sweep_leaderboard import markdown_text

    sweep = wide_sweep()
    capped = replace(sweep.variants[0], capped={"recall@100": 30})
    sweep = replace(sweep, variants=(capped, *sweep.variants[1:]))
    markdown, html = markdown_text(sweep), render_html(sweep)
    value = f"{capped.metrics['recall@100']:.3f}*"
    assert value in markdown and value in html
    assert "* capped: for some questions the ranking held fewer than k documents" in markdown
    assert "* capped: for some questions" in html
    assert SweepResult.from_dict(sweep.to_dict()).variant(capped.name).capped == {"recall@100": 30}
