"""typed_filters.plan(), evaluated with typed comparisons only, selects exactly what the reference selects."""

from __future__ import annotations

import random
from typing import Any

from polystack.apis.vector_io.filters import matches
from polystack.apis.vector_io.index import ComparisonFilter, CompoundFilter, Filter
from polystack.providers.utils.vector_index.typed_filters import AnyOf, Equals, evaluate, plan

VALUES: list[Any] = ["en", "fr", "1", "", "2024-01-01", "2023-12-31", 0, 1, 2, 2023, -5, 0.0, 1.0, 0.5, 2023.0,
                     True, False]
KEYS = ["a", "b", "c"]


def random_filter(rng: random.Random, depth: int = 0) -> Filter:
    if depth < 2 and rng.random() < 0.3:
        parts = [random_filter(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        return CompoundFilter(type=rng.choice(["and", "or"]), filters=parts)
    op = rng.choice(["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"])
    value: Any = rng.choice(VALUES)
    if op in ("in", "nin") or rng.random() < 0.05:
        value = rng.sample(VALUES, rng.randint(0, 4)) if rng.random() < 0.9 else value
    return ComparisonFilter(type=op, key=rng.choice(KEYS), value=value)


def random_attributes(rng: random.Random) -> dict[str, Any]:
    return {key: rng.choice(VALUES) for key in KEYS if rng.random() < 0.7}


def test_the_plan_selects_what_the_reference_selects() -> None:
    rng = random.Random(42)
    corpus = [random_attributes(rng) for _ in range(60)]
    for _ in range(2000):
        condition = random_filter(rng)
        planned = plan(condition)
        for attributes in corpus:
            assert evaluate(planned, attributes) == matches(attributes, condition), (condition, attributes)


def test_equality_follows_python_across_number_and_bool() -> None:
    assert plan(ComparisonFilter(type="eq", key="k", value=1)) == AnyOf((Equals("k", 1), Equals("k", True)))
    assert plan(ComparisonFilter(type="eq", key="k", value=2023)) == Equals("k", 2023)
    assert plan(ComparisonFilter(type="ne", key="k", value="x")) == Equals("k", "x", negated=True)


def test_bool_ranges_become_equalities_and_constants_fold() -> None:
    assert plan(ComparisonFilter(type="gt", key="k", value=False)) == Equals("k", True)
    assert plan(ComparisonFilter(type="gt", key="k", value=True)) is False
    assert plan(ComparisonFilter(type="in", key="k", value=[])) is False
    assert plan(CompoundFilter(type="and", filters=[])) is True
    assert plan(CompoundFilter(type="or", filters=[ComparisonFilter(type="nin", key="k", value=[])])) is True
