"""The lab's expr evaluator agrees with the real expr library on every condition the
repository's AnalysisTemplates use, and on a list of edge conditions, for generated results
(NaN, empty, negative, huge, ±Inf, scalars and vectors). See docs/decisions/0080-*."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paystream_ops.lab import expr
from paystream_ops.lab.expr import Result
from paystream_ops.lab.manifests import LabContext, metric_specs, read_manifests
from paystream_ops.lab.scenario import available, load_scenario
from paystream_ops.paths import overlay_dir
from paystream_ops.render import render

from .expr_oracle.oracle import (
    Case,
    ExprOracle,
    OracleUnavailable,
    describe,
    lab_outcome,
    outside_common_subset,
    running_oracle,
)

OVERLAYS = ("prod", "staging")

# Edge conditions in the common subset: precedence, short-circuits, NaN and ±Inf, int/float
# mixing, out-of-range indexes, type errors on the evaluated branch, Argo's helper quirks.
EDGE_CONDITIONS = (
    "result[0] < 0.01",
    "result < 0.01",
    "result >= 0.01",
    "result == result",
    "result != result",
    "isNaN(result) || result > 1",
    "isInf(result) && result < 0",
    "len(result) > 0 && result[0] <= 5",
    "len(result) == 0 || result[len(result) - 1] > 0",
    "len(result) == 1 && !isNaN(result[0]) && result[0] <= 0.01",
    "result[1] > 0",
    "all(result, {# >= 0})",
    "any(result, {isInf(#)})",
    "none(result, {isNaN(#)})",
    "one(result, {# > 1e300})",
    "count(result, {# < 0}) >= 1",
    "len(filter(result, {!isNaN(#) && # > 0.5})) == 0",
    "all(result, {!isNaN(#) && # <= 5})",
    "all(result, {# <= 5 || isNaN(#)})",
    "not (result[0] > 1) and result[0] == result[0]",
    "result[0] * 2 > 1 == true",
    "result[0] ** 2 >= 0",
    "(result[0] - 1) / 0 < 0",
    "result / 0 > 1",
    "result * 0 == 0",
    "-result < 0",
    "asInt(result) >= 1",
    "asInt(result[0]) % 2 == 1",
    "asFloat(result) == result",
    "default(result, 0) == result",
    "isNil(result)",
    "!isNil(result) && len(result) >= 0",
    "result > 0.5 ? result[0] > 1 : true",
    "len(result) > 0 ? result[0] > 0.5 : false",
    "1 + 2 * 3 == 7 && 2 ** 3 ** 2 == 512",
    "7 % 3 == 1 and -7 % 3 == -1",
    "1.0 / 4 == 0.25",
    "'a' + 'b' == \"ab\"",
    "'abc' < 'abd'",
    "9223372036854775807 + 1 < 0",
    "asInt('42') + 1 == 43",
    "asFloat('1e-3') == 0.001",
    "asInt('x') > 1",
    "1 % 0 == 1",
    "len(result)",
    "result",
    "result == 1",
    "result[0] == true",
    "true == 1",
    "len(result) == 0 || result < 1",
    "isNaN(len(result))",
    "isNaN(1)",
    "'a' < 1",
    "!1",
    "len(1) > 0",
    "result['a'] > 0",
    "result[len(result)] > 0",
    "nil == result",
    "result[0] != nil",
    "isNil(result) || result[0] > 0",
    "default(result, 1) > 0",
    "all(result, {all(result, {# >= 0})})",
    "one(filter(result, {# > 0}), {# > 1})",
    "(result > 0 ? 1 : 0.5) > 0",
    "result ? true : false",
    "asInt('1.5') == 1",
    "asFloat('inf') > 0",
)

SPECIAL = (math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, -1e308, 5e-324, 1e300, 2.0**63)


def repository_conditions() -> list[str]:
    """Every condition of every AnalysisTemplate the rendered overlays use, args substituted
    as the lab substitutes them, at real time and at every scenario's time scale."""
    scales = {1.0} | {load_scenario(name)[0].time_scale for name in available()}
    found: set[str] = set()
    for overlay in OVERLAYS:
        objects = render(overlay_dir(overlay))
        for scale in sorted(scales):
            manifests = read_manifests(objects, f"overlays/{overlay}", scale)
            context = LabContext(
                time_scale=scale,
                prometheus_address="http://127.0.0.1:9090",
                canary_hash="canary",
                stable_hash="stable",
            )
            for _, analysis in manifests.analyses():
                for spec in metric_specs(analysis, manifests, context):
                    found.update(c.source for c in (spec.success, spec.failure) if c)
    return sorted(found)


@pytest.fixture(scope="module")
def oracle() -> Iterator[ExprOracle]:
    try:
        with running_oracle() as running:
            yield running
    except OracleUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def templates() -> list[str]:
    found = repository_conditions()
    assert found, "no AnalysisTemplate conditions found in the rendered overlays"
    return found


@pytest.fixture(scope="module")
def conditions(templates: list[str]) -> list[str]:
    return templates + [c for c in EDGE_CONDITIONS if c not in templates]


def literals(condition: str) -> list[float]:
    """The thresholds a condition compares against, negated, and their float neighbours."""
    values: set[float] = set()
    for number in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", condition):
        for value in (float(number), -float(number)):
            values |= {value, math.nextafter(value, math.inf), math.nextafter(value, -math.inf)}
    return sorted(values)


def boundary_cases(conditions: Sequence[str]) -> list[Case]:
    """Each condition on its own thresholds and their neighbours and on the special values,
    as a scalar, a one-element vector, beside a NaN and beside a zero; on [] and on nil."""
    cases: list[Case] = []
    for condition in conditions:
        results: list[Result] = [None, []]
        for value in literals(condition) + list(SPECIAL):
            results += [value, [value], [value, math.nan], [0.0, value]]
        cases += [(condition, result) for result in results]
    return cases


Evaluate = Callable[[str, Result], str]


def disagreements(oracle: ExprOracle, cases: Sequence[Case], evaluate: Evaluate) -> list[str]:
    truth = oracle.evaluate_many(cases)
    return [
        f"{condition!r} on {describe(result)}: expr says {expected}, the lab says {got}"
        for (condition, result), expected in zip(cases, truth, strict=True)
        if (got := evaluate(condition, result)) != expected
    ]


def test_every_repository_condition_is_in_the_common_subset_of_both_expr_versions(
    templates: list[str],
) -> None:
    outside = {c: r for c in templates if (r := outside_common_subset(c))}
    assert not outside, f"the v1.8.9 oracle cannot check these (docs/lab.md): {outside}"


def test_the_edge_conditions_are_in_the_common_subset() -> None:
    assert {c: r for c in EDGE_CONDITIONS if (r := outside_common_subset(c))} == {}


def test_lab_agrees_with_expr_on_boundary_results(
    oracle: ExprOracle, conditions: list[str]
) -> None:
    found = disagreements(oracle, boundary_cases(conditions), lab_outcome)
    assert not found, "\n".join(found[:20])


floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(SPECIAL),
    st.floats(-2.0, 10.0),
)
results_strategy: st.SearchStrategy[Result] = st.one_of(
    floats,
    st.lists(floats, max_size=6),
    st.just(None),
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(results_strategy, min_size=1, max_size=4))
def test_lab_agrees_with_expr_on_generated_results(
    oracle: ExprOracle, conditions: list[str], batch: list[Result]
) -> None:
    found = disagreements(oracle, [(c, r) for c in conditions for r in batch], lab_outcome)
    assert not found, "\n".join(found[:20])


# ---- the comparison can fail --------------------------------------------------------------


def test_a_lab_that_treats_equal_as_above_the_threshold_is_caught(
    oracle: ExprOracle, templates: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = expr._compare

    def off_by_one(op: str, left: expr.Value, right: expr.Value) -> bool:
        return real("<" if op == "<=" else op, left, right)

    monkeypatch.setattr(expr, "_compare", off_by_one)
    found = disagreements(oracle, boundary_cases(templates), lab_outcome)
    assert any("<=" in line for line in found)


def test_a_lab_that_misses_nan_is_caught(
    oracle: ExprOracle, conditions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(expr._PLAIN_IMPLS, "isNaN", lambda args, env: False)
    cases = [(c, r) for c in conditions for r in ([math.nan], [0.0, math.nan])]
    found = disagreements(oracle, cases, lab_outcome)
    assert any("isNaN" in line for line in found)


def test_a_lab_that_forgives_an_empty_vector_is_caught(oracle: ExprOracle) -> None:
    def forgiving(condition: str, result: Result) -> str:
        outcome = lab_outcome(condition, result)
        return "false" if outcome == "error" else outcome

    found = disagreements(oracle, [("result[0] < 0.01", [])], forgiving)
    assert found == ["'result[0] < 0.01' on []: expr says error, the lab says false"]


# ---- where the versions differ, the oracle shows it and the subset check excludes it -------


@pytest.mark.parametrize(
    ("condition", "result", "v189", "lab_v117"),
    [
        ("1 / 2 == 0", 0.0, "true", "false"),
        ("-2 ** 2 == 4", 0.0, "true", "false"),
        ("result[-1] == 2", [1.0, 2.0], "error", "true"),
        ("all(result, # < 1)", [0.5], "error", "true"),
        ("abs(result) < 1", -0.5, "error", "true"),
        ("2 ^ 3 == 8", 0.0, "error", "true"),
    ],
)
def test_version_differences_are_real_and_outside_the_compared_subset(
    oracle: ExprOracle, condition: str, result: Result, v189: str, lab_v117: str
) -> None:
    assert oracle.evaluate_many([(condition, result)]) == [v189]
    assert lab_outcome(condition, result) == lab_v117
    assert outside_common_subset(condition) is not None
