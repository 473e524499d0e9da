"""The expr subset evaluates conditions the way Argo Rollouts' expr does, and refuses the rest."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paystream_ops.errors import UserError
from paystream_ops.lab.expr import (
    EvalError,
    UnsupportedExpression,
    compile_condition,
)

WHERE = "AnalysisTemplate/canary-vs-stable: metrics[failure-ratio].successCondition"


def check(source: str, result: float | list[float] | None) -> bool:
    return compile_condition(source, WHERE).evaluate(result)


@pytest.mark.parametrize(
    ("source", "result", "expected"),
    [
        ("result < 0.01", 0.005, True),
        ("result < 0.01", 0.02, False),
        ("result[0] < 0.01", [0.005], True),
        ("len(result) > 0 && result[0] < 0.01", [0.005], True),
        ("len(result) > 0 && result[0] < 0.01", [], False),
        ("len(result) == 0 || all(result, {# < 0.01})", [], True),
        ("all(result, {# < 0.01})", [0.001, 0.002], True),
        ("all(result, {# < 0.01})", [0.001, 0.02], False),
        ("all(result, # < 0.01)", [0.001, 0.02], False),
        ("any(result, {# > 0.01})", [0.001, 0.02], True),
        ("none(result, {# > 0.01})", [0.001, 0.002], True),
        ("one(result, {# > 0.01})", [0.5, 0.002], True),
        ("count(result, {# > 0.01}) >= 2", [0.5, 0.2, 0.0], True),
        ("len(filter(result, {# > 0.01})) == 1", [0.5, 0.0], True),
        ("result[-1] == 3", [1.0, 2.0, 3.0], True),
        ("isNaN(result[0])", [math.nan], True),
        ("!isNaN(result[0]) && result[0] < 1", [math.nan], False),
        ("not isNaN(result) and result < 1", 0.5, True),
        ("isInf(result)", math.inf, True),
        ("asInt(result) == 2", 2.9, True),
        ("asInt(result) == -2", -2.9, True),
        ("asFloat('0.5') == 0.5", 0.0, True),
        ("asInt('42') + 1 == 43", 0.0, True),
        ("default(result, 7) == 7", None, True),
        ("isNil(result)", None, True),
        ("isNil(0)", 1.0, False),
        ("1 + 2 * 3 == 7", 0.0, True),
        ("(1 + 2) * 3 == 9", 0.0, True),
        ("2 ** 3 ** 2 == 512", 0.0, True),
        ("-2 ** 2 == -4", 0.0, True),
        ("7 % 3 == 1 and -7 % 3 == -1", 0.0, True),
        ("1 / 2 == 0.5", 0.0, True),
        ("1 / 0 > 1e308", 0.0, True),
        ("1_000 == 1000 && 0x10 == 16 && 1e3 == 1000", 0.0, True),
        ("result == 1", 1.0, True),
        ("'a' + 'b' == \"ab\"", 0.0, True),
        ("result > 1 ? false : true", 0.5, True),
        ("!(result > 1)", 0.5, True),
        ("not true == false", 0.0, True),
        ("abs(result) < 1", -0.5, True),
        ("result < 0.01 || result > 0.5 && result < 0.6", 0.55, True),
        # Regressions found by the expr oracle: Go's int64 conversion and arithmetic (amd64).
        ("asInt(result) == -9223372036854775808", math.nan, True),
        ("asInt(result) == -9223372036854775808", 1e300, True),
        ("asInt(result) == -9223372036854775808", -math.inf, True),
        ("9223372036854775807 + 1 < 0", 0.0, True),
    ],
)
def test_condition_evaluates_like_expr(
    source: str, result: float | list[float] | None, expected: bool
) -> None:
    assert check(source, result) is expected


def test_nan_compares_false_in_both_directions() -> None:
    assert check("result < 1", math.nan) is False
    assert check("result >= 1", math.nan) is False


@pytest.mark.parametrize(
    ("source", "result", "message"),
    [
        ("result[0] < 0.01", [], "index out of range"),
        ("result < 0.01", [0.5], "invalid operation"),
        ("result", 0.5, "expected bool"),
        ("len(result)", [1.0], "expected bool"),
        ("result && true", 1.0, "mismatched types float and bool"),
        ("asInt('x') > 1", 0.0, "invalid syntax"),
        ("asFloat('1_0') > 1", 0.0, "invalid syntax"),
        ("1 % 0 == 1", 0.0, "divide by zero"),
        ("all(result, {# < 1})", 1.0, "takes only array"),
        ("result[1.5] > 0", [1.0, 2.0], "cannot use float as index"),
        # Regressions found by the expr oracle (test_expr_oracle.py): expr type-checks the
        # whole condition first, so these are Errors whatever the evaluation would reach.
        ("true == 1", 0.0, "mismatched types bool and int"),
        ("result == 1", [1.0], "mismatched types array:float and int"),
        ("result[0] == true", [1.0], "mismatched types float and bool"),
        ("len(result) == 0 || result < 1", [], "mismatched types array:float and int"),
        ("result > 0.5 ? result[0] > 1 : true", 0.0, "does not support indexing"),
        ("!isNil(result) && len(result) >= 0", None, "invalid argument for len"),
    ],
)
def test_runtime_failures_are_eval_errors_like_in_expr(
    source: str, result: float | list[float] | None, message: str
) -> None:
    condition = compile_condition(source, WHERE)
    with pytest.raises(EvalError, match=message):
        condition.evaluate(result)


@pytest.mark.parametrize(
    "source",
    [
        "result in [1, 2]",
        "result matches 'x'",
        "result.value > 1",
        "result ?? 1",
        "upper('a') == 'A'",
        "map(result, {# * 2})[0] > 1",
        "foo > 1",
        "# > 1",
        "result[0:1]",
        "[1, 2]",
        "result | len()",
        "0..3",
        "result <",
        "",
        "len(result, 1) > 0",
        "'unterminated",
    ],
)
def test_syntax_outside_the_subset_is_a_user_error_naming_template_and_metric(source: str) -> None:
    with pytest.raises(UnsupportedExpression) as info:
        compile_condition(source, WHERE)
    assert isinstance(info.value, UserError)
    assert str(info.value).startswith(WHERE)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6))
def test_a_guarded_condition_never_errors_on_any_vector(values: list[float]) -> None:
    condition = compile_condition("len(result) > 0 && all(result, {!isNaN(#) && # <= 0.01})", WHERE)
    expected = bool(values) and all(not math.isnan(v) and v <= 0.01 for v in values)
    assert condition.evaluate(values) is expected


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_integer_arithmetic_matches_go(a: int, b: int) -> None:
    assert check(f"({a}) + ({b}) == {a + b}", 0.0)
    assert check(f"({a}) * ({b}) == {a * b}", 0.0)
    if b != 0:
        go_remainder = int(math.fmod(a, b))
        assert check(f"({a}) % ({b}) == {go_remainder}", 0.0)
