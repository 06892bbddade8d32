"""The sentence splitter: boundaries and exact character offsets."""

from __future__ import annotations

from itertools import pairwise

import pytest

from ragpipe.answer.sentences import is_heading, split_sentences


def sentences(text: str) -> list[str]:
    spans = split_sentences(text)
    for start, end in spans:
        piece = text[start:end]
        assert piece == piece.strip() and piece, f"span {start}:{end} is not trimmed: {piece!r}"
    assert spans == sorted(spans), "spans must be in order"
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(spans))
    return [text[start:end] for start, end in spans]


def test_plain_sentences_and_exact_offsets() -> None:
    text = "  The cat sat.  It purred!\tDid it sleep? Yes. "
    assert split_sentences(text) == [(2, 14), (16, 26), (27, 40), (41, 45)]
    assert sentences(text) == ["The cat sat.", "It purred!", "Did it sleep?", "Yes."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith arrived. He sat down.", ["Dr. Smith arrived.", "He sat down."]),
        ("Use a fast store, e.g. Qdrant. It helps.", ["Use a fast store, e.g. Qdrant.", "It helps."]),
        ("Apples, i.e. fruit, are sweet. Yes.", ["Apples, i.e. fruit, are sweet.", "Yes."]),
        ("Smith et al. (2020) showed this. Others agree.", ["Smith et al. (2020) showed this.", "Others agree."]),
        ("See Fig. 3 for the curve. It is flat.", ["See Fig. 3 for the curve.", "It is flat."]),
        ("The U.S. Army agreed. Then it left.", ["The U.S. Army agreed.", "Then it left."]),
        ("Mr. and Mrs. Jones came. They left.", ["Mr. and Mrs. Jones came.", "They left."]),
        ("The rate was 3.5 percent. It rose.", ["The rate was 3.5 percent.", "It rose."]),
        ("Upgrade to v1.2.3 now. Version 2.0.1 is next.", ["Upgrade to v1.2.3 now.", "Version 2.0.1 is next."]),
        ("Levels of vitamin D. We measured them.", ["Levels of vitamin D.", "We measured them."]),
        ("It ended in 2019. 25 patients stayed.", ["It ended in 2019.", "25 patients stayed."]),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("Wait... What happened? Nothing.", ["Wait...", "What happened?", "Nothing."]),
        ("Yahoo! is a company. Fine.", ["Yahoo! is a company.", "Fine."]),
        ("no terminal punctuation here", ["no terminal punctuation here"]),
        ("A line that wraps\nonto the next line. Next.", ["A line that wraps\nonto the next line.", "Next."]),
    ],
)
def test_sentence_boundaries(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_headings_bullets_and_paragraphs_are_separate_sentences() -> None:
    text = (
        "# Install ragpipe\n"
        "Run the installer\n"
        "\n"
        "## Steps\n"
        "- Download the wheel\n"
        "* Install it. Then restart\n"
        "  the shell.\n"
        "1. Numbered step\n"
        "2) Another step\n"
        "\n"
        "---\n"
        "Closing words"
    )
    assert sentences(text) == [
        "# Install ragpipe",
        "Run the installer",
        "## Steps",
        "Download the wheel",
        "Install it.",
        "Then restart\n  the shell.",
        "Numbered step",
        "Another step",
        "Closing words",
    ]
    heading_start, heading_end = split_sentences(text)[2]
    assert text[heading_start:heading_end] == "## Steps"


def test_windows_line_endings_and_unicode_keep_offsets_exact() -> None:
    text = "Überblick: Café öffnet um 8 Uhr.\r\nEs schließt spät.\r\n\r\n- Punkt eins\r\n"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Überblick: Café öffnet um 8 Uhr.", "Es schließt spät.", "Punkt eins"]
    assert spans[1] == (text.index("Es"), text.index("spät.") + len("spät."))


def test_empty_and_punctuation_only_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences("   \n\n  ") == []
    assert split_sentences("***\n\n- \n...") == []


def test_is_heading() -> None:
    assert is_heading("# Title")
    assert is_heading("### Deep title")
    assert not is_heading("#hashtag is not a heading")
    assert not is_heading("A sentence with # inside.")
