"""The one filter syntax: parsing, reference semantics and error messages."""

from __future__ import annotations

import pytest

from ragpipe.errors import ConfigError
from ragpipe.filters import And, Eq, In, Not, Range, combine, matches, parse_filter, to_spec

DOCS = {
    "a": {"team": "platform", "year": 2024, "tags": ["deploy", "ops"], "owner": "ana"},
    "b": {"team": "security", "year": 2021, "tags": ["access"], "owner": None},
    "c": {"team": "data", "year": 2019.5, "tags": []},
}


def select(spec: object) -> set[str]:
    expr = parse_filter(spec)
    return {k for k, meta in DOCS.items() if matches(expr, meta)}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"team": "platform"}, {"a"}),
        ({"team": {"in": ["platform", "data"]}}, {"a", "c"}),
        ({"team": ["security"]}, {"b"}),
        ({"year": {"gte": 2021}}, {"a", "b"}),
        ({"year": {"gt": 2019, "lt": 2021}}, {"c"}),
        ({"tags": "ops"}, {"a"}),
        ({"owner": {"exists": True}}, {"a"}),
        ({"tags": {"exists": False}}, {"c"}),
        ({"team": {"ne": "platform"}}, {"b", "c"}),
        ({"or": [{"team": "data"}, {"year": {"gte": 2024}}]}, {"a", "c"}),
        ({"not": {"team": "data"}, "year": {"lt": 2022}}, {"b"}),
        ({"and": [{"tags": {"in": ["access", "ops"]}}, {"not": {"owner": "ana"}}]}, {"b"}),
        ("team=security", {"b"}),
        ("{year: {lte: 2021}}", {"b", "c"}),
        ('{"team": "platform"}', {"a"}),
        ({}, {"a", "b", "c"}),
        (None, {"a", "b", "c"}),
    ],
)
def test_filter_semantics(spec: object, expected: set[str]) -> None:
    assert select(spec) == expected


def test_round_trip_through_canonical_form() -> None:
    expr = parse_filter({"team": {"in": ["a", "b"]}, "or": [{"year": {"gte": 1}}, {"not": {"x": True}}]})
    assert parse_filter(to_spec(expr)) == expr


def test_combine_ands_filters() -> None:
    assert combine(None, None) is None
    a, b = Eq("team", "x"), Range("year", gte=1.0)
    assert combine(a, None) == a
    assert combine(a, b) == And((a, b))
    assert isinstance(parse_filter({"t": [1, 2]}), In)
    assert isinstance(parse_filter({"t": {"ne": 1}}), Not)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"year": {"after": 2020}}, "unknown operator 'after'"),
        ({"year": {"gte": "2020"}}, "range bounds must be numbers"),
        ({"or": {"team": "a"}}, "non-empty list"),
        ({"team": {"in": []}}, "non-empty list"),
        ({"owner": {"exists": "yes"}}, "true or false"),
        ({"team": {"a": 1}}, "unknown operator"),
        ({"team": {"eq": {"nested": 1}}}, "string, number or boolean"),
        (["team"], "must be a mapping"),
        ("{unclosed", "cannot parse filter"),
    ],
)
def test_bad_filters_name_the_problem(spec: object, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        parse_filter(spec)
