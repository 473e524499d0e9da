"""The subset of github.com/expr-lang/expr that Argo Rollouts' conditions are written in.

Argo Rollouts (`utils/evaluate/evaluate.go`) compiles `successCondition` / `failureCondition`
with expr and an environment holding `result` plus the helpers `asInt`, `asFloat`, `isNaN`,
`isInf`, `isNil` and `default`. The Prometheus provider passes `result` as a float64 for a scalar
and as a []float64 (label sets dropped, in Prometheus' order) for a vector.

Supported here: `result`, `#` inside predicates, number / string / bool / nil literals,
indexing (negative indexes count from the end, as in expr), the operators
`! not - +` (unary), `** ^ * / % + - == != < > <= >= && and || or`, the ternary `?:`, and the
functions `len isNaN isInf isNil asInt asFloat default abs` and the predicate builtins
`all any none one count filter` (with `{...}` or a bare predicate). Operator precedence and
associativity are expr's (`parser/operator/operator.go`).

Two kinds of failure, kept apart on purpose:
- `UnsupportedExpression` (a `UserError`) at compile time: the text uses something outside the
  subset (an unknown function or name, `in`, `matches`, member access, pipes, ...). The lab never
  guesses, so it stops and names the template and metric.
- `EvalError` at run time: what expr itself would fail on (an index out of range on an empty
  vector, a type mismatch, a non-bool result). Argo Rollouts records such a measurement as
  `Error`, and so does the lab. expr type-checks the whole condition against `result`'s type
  before running it, so a type error is an Error even on a branch never reached; so here.

Integers are Go's int64 (arithmetic wraps; `asInt` of NaN, ±Inf or a float out of range is the
minimum int64, as on amd64). `tests/lab/test_expr_oracle.py` checks all of this against the real
expr library (docs/decisions/0080-expr-oracle-differential-test.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Union

from paystream_ops.errors import UserError

Value = Union[bool, int, float, str, None, list["Value"]]  # noqa: UP007 (recursive alias)
Result = float | list[float] | None


class UnsupportedExpression(UserError):
    """The condition uses syntax or a function outside the subset the lab implements."""


class EvalError(Exception):
    """expr would fail at run time; Argo Rollouts marks the measurement `Error`."""


# --------------------------------------------------------------------------------------------
# Lexer


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, punct, eof
    text: str
    pos: int
    value: int | float | str | None = None


_OPERATORS = (
    "**",
    "&&",
    "||",
    "==",
    "!=",
    "<=",
    ">=",
    "??",
    "..",
    "?.",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "<",
    ">",
    "!",
    "|",
    ".",
)
_PUNCT = "()[]{},#?:"
_WORD_OPERATORS = frozenset(
    {"and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith"}
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def _lex_number(text: str, pos: int) -> tuple[Token, int]:
    start = pos
    if text.startswith(("0x", "0X"), pos):
        pos += 2
        while pos < len(text) and (text[pos] in "0123456789abcdefABCDEF_"):
            pos += 1
        raw = text[start:pos]
        return Token("number", raw, start, int(raw.replace("_", ""), 16)), pos
    while pos < len(text) and (text[pos].isdigit() or text[pos] == "_"):
        pos += 1
    is_float = False
    if pos + 1 < len(text) and text[pos] == "." and text[pos + 1].isdigit():
        is_float = True
        pos += 1
        while pos < len(text) and (text[pos].isdigit() or text[pos] == "_"):
            pos += 1
    if pos < len(text) and text[pos] in "eE":
        look = pos + 1
        if look < len(text) and text[look] in "+-":
            look += 1
        if look < len(text) and text[look].isdigit():
            is_float = True
            pos = look
            while pos < len(text) and text[pos].isdigit():
                pos += 1
    raw = text[start:pos]
    clean = raw.replace("_", "")
    value: int | float = float(clean) if is_float else int(clean)
    return Token("number", raw, start, value), pos


def _lex_string(text: str, pos: int, where: str) -> tuple[Token, int]:
    quote = text[pos]
    start = pos
    pos += 1
    out: list[str] = []
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            escaped = text[pos + 1]
            if escaped not in _ESCAPES:
                raise UnsupportedExpression(f"{where}: unsupported escape \\{escaped} at {pos}")
            out.append(_ESCAPES[escaped])
            pos += 2
            continue
        if char == quote:
            return Token("string", text[start : pos + 1], start, "".join(out)), pos + 1
        out.append(char)
        pos += 1
    raise UnsupportedExpression(f"{where}: unterminated string starting at {start}")


def tokenize(text: str, where: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char.isdigit():
            token, pos = _lex_number(text, pos)
            tokens.append(token)
            continue
        if char in "\"'":
            token, pos = _lex_string(text, pos, where)
            tokens.append(token)
            continue
        if char.isalpha() or char in "_$":
            start = pos
            while pos < len(text) and (text[pos].isalnum() or text[pos] in "_$"):
                pos += 1
            word = text[start:pos]
            kind = "op" if word in _WORD_OPERATORS else "name"
            tokens.append(Token(kind, word, start))
            continue
        # `?.` and `??` are operators; a lone `?` is the ternary.
        op = next((o for o in _OPERATORS if text.startswith(o, pos)), None)
        if op is not None:
            tokens.append(Token("op", op, pos))
            pos += len(op)
            continue
        if char in _PUNCT:
            tokens.append(Token("punct", char, pos))
            pos += 1
            continue
        raise UnsupportedExpression(f"{where}: unexpected character {char!r} at {pos}")
    tokens.append(Token("eof", "", len(text)))
    return tokens


# --------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class ResultRef:
    pass


@dataclass(frozen=True)
class Pointer:  # `#`, the current element inside a predicate
    pass


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Index:
    target: Node
    index: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Conditional:
    test: Node
    then: Node
    otherwise: Node


Node = Literal | ResultRef | Pointer | Unary | Binary | Index | Call | Conditional

# expr's precedence table (parser/operator/operator.go); only the operators in the subset.
_BINARY: dict[str, tuple[int, bool]] = {  # op -> (precedence, right-associative)
    "or": (10, False),
    "||": (10, False),
    "and": (15, False),
    "&&": (15, False),
    "==": (20, False),
    "!=": (20, False),
    "<": (20, False),
    ">": (20, False),
    ">=": (20, False),
    "<=": (20, False),
    "+": (30, False),
    "-": (30, False),
    "*": (60, False),
    "/": (60, False),
    "%": (60, False),
    "**": (100, True),
    "^": (100, True),
}
_UNARY: dict[str, int] = {"not": 50, "!": 50, "-": 90, "+": 90}
_UNSUPPORTED_OPS = frozenset(
    {"in", "matches", "contains", "startsWith", "endsWith", "..", "??", "|", ".", "?."}
)

_PLAIN_FUNCTIONS: dict[str, tuple[int, int]] = {  # name -> (min args, max args)
    "len": (1, 1),
    "isNaN": (1, 1),
    "isInf": (1, 1),
    "isNil": (1, 1),
    "asInt": (1, 1),
    "asFloat": (1, 1),
    "default": (2, 2),
    "abs": (1, 1),
}
PREDICATE_FUNCTIONS = frozenset({"all", "any", "none", "one", "count", "filter"})
SUPPORTED_FUNCTIONS = frozenset(_PLAIN_FUNCTIONS) | PREDICATE_FUNCTIONS


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.tokens = tokenize(text, where)
        self.pos = 0
        self.closure_depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def fail(self, message: str, token: Token | None = None) -> UnsupportedExpression:
        at = (token or self.current).pos
        return UnsupportedExpression(f"{self.where}: {message} at position {at} of {self.text!r}")

    def advance(self) -> Token:
        token = self.current
        self.pos += 1
        return token

    def expect(self, kind: str, text: str) -> Token:
        token = self.current
        if token.kind != kind or token.text != text:
            raise self.fail(f"expected {text!r}, found {token.text or 'end of expression'!r}")
        return self.advance()

    def parse(self) -> Node:
        node = self.parse_conditional()
        if self.current.kind != "eof":
            raise self.fail(f"unexpected {self.current.text!r}")
        return node

    def parse_conditional(self) -> Node:
        node = self.parse_binary(0)
        if self.current.kind == "punct" and self.current.text == "?":
            self.advance()
            then = self.parse_conditional()
            self.expect("punct", ":")
            otherwise = self.parse_conditional()
            return Conditional(node, then, otherwise)
        return node

    def parse_binary(self, min_precedence: int) -> Node:
        left = self.parse_unary()
        while True:
            token = self.current
            if token.kind != "op":
                return left
            if token.text in _UNSUPPORTED_OPS or token.text == "not":
                raise self.fail(f"operator {token.text!r} is outside the supported expr subset")
            if token.text not in _BINARY:
                return left
            precedence, right_assoc = _BINARY[token.text]
            if precedence < min_precedence:
                return left
            self.advance()
            right = self.parse_binary(precedence if right_assoc else precedence + 1)
            left = Binary(token.text, left, right)

    def parse_unary(self) -> Node:
        token = self.current
        if token.kind == "op" and token.text in _UNARY:
            self.advance()
            operand = self.parse_binary(_UNARY[token.text])
            return self.parse_postfix(Unary(token.text, operand))
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, node: Node) -> Node:
        while True:
            token = self.current
            if token.kind == "punct" and token.text == "[":
                self.advance()
                if self.current.kind == "punct" and self.current.text == ":":
                    raise self.fail("slices are outside the supported expr subset")
                index = self.parse_conditional()
                if self.current.kind == "punct" and self.current.text == ":":
                    raise self.fail("slices are outside the supported expr subset")
                self.expect("punct", "]")
                node = Index(node, index)
            elif token.kind == "op" and token.text in {".", "?."}:
                raise self.fail("member access is outside the supported expr subset")
            else:
                return node

    def parse_primary(self) -> Node:
        token = self.advance()
        if token.kind == "number" or token.kind == "string":
            return Literal(token.value)
        if token.kind == "punct" and token.text == "(":
            node = self.parse_conditional()
            self.expect("punct", ")")
            return node
        if token.kind == "punct" and token.text == "#":
            if self.closure_depth == 0:
                raise self.fail("'#' is only valid inside a predicate", token)
            return Pointer()
        if token.kind == "punct" and token.text == "[":
            raise self.fail("array literals are outside the supported expr subset", token)
        if token.kind == "name":
            if self.current.kind == "punct" and self.current.text == "(":
                return self.parse_call(token)
            if token.text == "true":
                return Literal(True)
            if token.text == "false":
                return Literal(False)
            if token.text == "nil":
                return Literal(None)
            if token.text == "result":
                return ResultRef()
            raise self.fail(
                f"unknown name {token.text!r} (Argo Rollouts only provides 'result')", token
            )
        raise self.fail(f"unexpected {token.text or 'end of expression'!r}", token)

    def parse_call(self, name: Token) -> Node:
        self.expect("punct", "(")
        if name.text in PREDICATE_FUNCTIONS:
            collection = self.parse_conditional()
            self.expect("punct", ",")
            predicate = self.parse_predicate()
            self.expect("punct", ")")
            return Call(name.text, (collection, predicate))
        if name.text not in _PLAIN_FUNCTIONS:
            raise self.fail(
                f"function {name.text!r} is outside the supported expr subset "
                f"({', '.join(sorted(SUPPORTED_FUNCTIONS))})",
                name,
            )
        args: list[Node] = []
        if not (self.current.kind == "punct" and self.current.text == ")"):
            args.append(self.parse_conditional())
            while self.current.kind == "punct" and self.current.text == ",":
                self.advance()
                args.append(self.parse_conditional())
        self.expect("punct", ")")
        low, high = _PLAIN_FUNCTIONS[name.text]
        if not low <= len(args) <= high:
            raise self.fail(f"{name.text}() takes {low} argument(s), got {len(args)}", name)
        return Call(name.text, tuple(args))

    def parse_predicate(self) -> Node:
        self.closure_depth += 1
        try:
            if self.current.kind == "punct" and self.current.text == "{":
                self.advance()
                body = self.parse_conditional()
                self.expect("punct", "}")
                return body
            return self.parse_conditional()
        finally:
            self.closure_depth -= 1


# --------------------------------------------------------------------------------------------
# Evaluation


def _type_name(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]float64"
    return type(value).__name__


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Value, what: str) -> int | float:
    if not _is_number(value):
        raise EvalError(f"{what}: expected a number, got {_type_name(value)}")
    assert isinstance(value, int | float)
    return value


def _boolean(value: Value, what: str) -> bool:
    if not isinstance(value, bool):
        raise EvalError(f"{what}: expected bool, got {_type_name(value)}")
    return value


def _go_float_div(left: float, right: float) -> float:
    if right == 0:
        if left == 0 or math.isnan(left):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


_INT64_MIN = -(2**63)


def _int64(value: int) -> int:
    """Go's int arithmetic wraps around at 64 bits."""
    return (value - _INT64_MIN) % 2**64 + _INT64_MIN


def _arith(op: str, left: Value, right: Value) -> Value:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    a = _number(left, f"left operand of {op}")
    b = _number(right, f"right operand of {op}")
    if isinstance(a, int) and isinstance(b, int):
        if op == "+":
            return _int64(a + b)
        if op == "-":
            return _int64(a - b)
        if op == "*":
            return _int64(a * b)
    both_int = isinstance(a, int) and isinstance(b, int)
    if op == "+":
        return float(a) + float(b)
    if op == "-":
        return float(a) - float(b)
    if op == "*":
        return float(a) * float(b)
    if op == "/":
        return _go_float_div(float(a), float(b))
    if op == "%":
        if not both_int:
            raise EvalError(f"invalid operation: {_type_name(a)} % {_type_name(b)}")
        assert isinstance(a, int) and isinstance(b, int)
        if b == 0:
            raise EvalError("integer divide by zero")
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else remainder  # Go truncates toward zero
    # ** and ^
    try:
        return math.pow(float(a), float(b))
    except OverflowError:
        return math.inf
    except ValueError:
        return math.nan


def _equal(left: Value, right: Value) -> bool:
    if _is_number(left) and _is_number(right):
        assert isinstance(left, int | float) and isinstance(right, int | float)
        return float(left) == float(right)
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return type(left) is type(right) and left == right


def _compare(op: str, left: Value, right: Value) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        a_s, b_s = left, right
        return {"<": a_s < b_s, ">": a_s > b_s, "<=": a_s <= b_s, ">=": a_s >= b_s}[op]
    if not (_is_number(left) and _is_number(right)):
        raise EvalError(f"invalid operation: {_type_name(left)} {op} {_type_name(right)}")
    assert isinstance(left, int | float) and isinstance(right, int | float)
    a, b = float(left), float(right)
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


_GO_INT = re.compile(r"[+-]?[0-9]+")
_GO_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE
)


def _as_int(value: Value) -> int:
    if isinstance(value, str):
        if not _GO_INT.fullmatch(value):
            raise EvalError(f'asInt: strconv.ParseInt: parsing "{value}": invalid syntax')
        return int(value, 10)
    if isinstance(value, float):
        # Go's int64(f) truncates toward zero; NaN, ±Inf and values out of range are
        # "implementation-specific": amd64 (CVTTSD2SI) gives the minimum int64, as here.
        if math.isnan(value) or math.isinf(value) or not -(2.0**63) <= value < 2.0**63:
            return _INT64_MIN
        return int(value)
    if _is_number(value):
        assert isinstance(value, int)
        return value
    raise EvalError(f"asInt() not supported on {_type_name(value)}")


def _as_float(value: Value) -> float:
    if isinstance(value, str):
        if not _GO_FLOAT.fullmatch(value):
            raise EvalError(f'asFloat: strconv.ParseFloat: parsing "{value}": invalid syntax')
        return float(value)
    if _is_number(value):
        assert isinstance(value, int | float)
        return float(value)
    raise EvalError(f"asFloat() not supported on {_type_name(value)}")


def _result_value(result: Result) -> Value:
    if isinstance(result, list):
        items: list[Value] = [float(v) for v in result]
        return items
    return result


@dataclass(frozen=True)
class _Env:
    result: Result
    pointer: Value = None


def _eval(node: Node, env: _Env) -> Value:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, ResultRef):
        return _result_value(env.result)
    if isinstance(node, Pointer):
        return env.pointer
    if isinstance(node, Unary):
        operand = _eval(node.operand, env)
        if node.op in {"!", "not"}:
            return not _boolean(operand, f"operand of {node.op}")
        number = _number(operand, f"operand of unary {node.op}")
        if node.op == "+":
            return number
        return _int64(-number) if isinstance(number, int) else -number
    if isinstance(node, Binary):
        return _eval_binary(node, env)
    if isinstance(node, Index):
        return _eval_index(node, env)
    if isinstance(node, Conditional):
        test = _boolean(_eval(node.test, env), "condition of ?:")
        return _eval(node.then if test else node.otherwise, env)
    return _eval_call(node, env)


def _eval_binary(node: Binary, env: _Env) -> Value:
    op = node.op
    if op in {"&&", "and"}:
        if not _boolean(_eval(node.left, env), f"left operand of {op}"):
            return False
        return _boolean(_eval(node.right, env), f"right operand of {op}")
    if op in {"||", "or"}:
        if _boolean(_eval(node.left, env), f"left operand of {op}"):
            return True
        return _boolean(_eval(node.right, env), f"right operand of {op}")
    left = _eval(node.left, env)
    right = _eval(node.right, env)
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in {"<", ">", "<=", ">="}:
        return _compare(op, left, right)
    return _arith(op, left, right)


def _eval_index(node: Index, env: _Env) -> Value:
    target = _eval(node.target, env)
    index = _eval(node.index, env)
    if not isinstance(target, list | str):
        raise EvalError(f"cannot index {_type_name(target)}")
    if not isinstance(index, int) or isinstance(index, bool):
        raise EvalError(f"index must be an integer, got {_type_name(index)}")
    position = index + len(target) if index < 0 else index
    if not 0 <= position < len(target):
        raise EvalError(f"index out of range: {index} (array length is {len(target)})")
    return target[position]


def _collection(value: Value, name: str) -> list[Value]:
    if not isinstance(value, list):
        raise EvalError(f"{name}() expects an array, got {_type_name(value)}")
    return value


def _eval_call(node: Call, env: _Env) -> Value:
    name = node.name
    if name in PREDICATE_FUNCTIONS:
        items = _collection(_eval(node.args[0], env), name)
        predicate = node.args[1]

        def test(item: Value) -> bool:
            return _boolean(_eval(predicate, _Env(env.result, item)), f"predicate of {name}()")

        if name == "filter":
            kept: list[Value] = [item for item in items if test(item)]
            return kept
        if name == "all":
            return all(test(item) for item in items)
        if name == "any":
            return any(test(item) for item in items)
        if name == "none":
            return not any(test(item) for item in items)
        hits = sum(1 for item in items if test(item))
        return hits == 1 if name == "one" else hits
    args = [_eval(arg, env) for arg in node.args]
    return _PLAIN_IMPLS[name](args, env)


def _fn_len(args: list[Value], env: _Env) -> Value:
    value = args[0]
    if not isinstance(value, list | str):
        raise EvalError(f"invalid argument for len (type {_type_name(value)})")
    return len(value)


def _fn_is_nan(args: list[Value], env: _Env) -> Value:
    return math.isnan(float(_number(args[0], "isNaN()")))


def _fn_is_inf(args: list[Value], env: _Env) -> Value:
    return math.isinf(float(_number(args[0], "isInf()")))


def _fn_is_nil(args: list[Value], env: _Env) -> Value:
    # Argo binds isNil to the *result*, whatever the argument is (isNilFunc(resultValue)).
    return env.result is None


def _fn_default(args: list[Value], env: _Env) -> Value:
    # Argo's default() ignores its first argument and returns the result unless it is nil
    # (defaultFunc(resultValue)); a Prometheus result is never nil, even when empty.
    if env.result is None:
        return args[1]
    return _result_value(env.result)


def _fn_abs(args: list[Value], env: _Env) -> Value:
    return abs(_number(args[0], "abs()"))


_PLAIN_IMPLS: dict[str, Callable[[list[Value], _Env], Value]] = {
    "len": _fn_len,
    "isNaN": _fn_is_nan,
    "isInf": _fn_is_inf,
    "isNil": _fn_is_nil,
    "asInt": lambda args, env: _as_int(args[0]),
    "asFloat": lambda args, env: _as_float(args[0]),
    "default": _fn_default,
    "abs": _fn_abs,
}


# --------------------------------------------------------------------------------------------
# Type check: expr checks the whole condition against the environment's types before running
# it (checker/checker.go), so a type error is an Error even on a branch the evaluation would
# never reach. Types: int float bool string nil any, and "array:<element>".

_ANY = "any"


def _is(kind: str, t: str) -> bool:
    if t == _ANY:
        return True
    if kind == "number":
        return t in {"int", "float"}
    if kind == "array":
        return t.startswith("array:")
    return t == kind


def _index_type(t: str) -> str | None:
    if t == _ANY:
        return _ANY
    return t.removeprefix("array:") if t.startswith("array:") else None


def _comparable(left: str, right: str) -> bool:
    if "nil" in (left, right) or _ANY in (left, right):
        return True
    if _is("number", left) and _is("number", right):
        return True
    return left == right or (_is("array", left) and _is("array", right))


def _combined(left: str, right: str) -> str:
    if "float" in (left, right):
        return "float"
    return "int" if left == right == "int" else _ANY


def _type_error(message: str) -> EvalError:
    return EvalError(f"type check: {message}")


def _check_unary(node: Unary, t: str) -> str:
    if node.op in {"!", "not"}:
        if _is("bool", t):
            return "bool"
    elif _is("number", t):
        return t
    raise _type_error(f"invalid operation: {node.op} (mismatched type {t})")


def _check_binary(op: str, left: str, right: str) -> str:
    numbers = _is("number", left) and _is("number", right)
    strings = _is("string", left) and _is("string", right)
    if op in {"&&", "and", "||", "or"} and _is("bool", left) and _is("bool", right):
        return "bool"
    if op in {"==", "!="} and (numbers or _comparable(left, right)):
        return "bool"
    if op in {"<", ">", "<=", ">="} and (numbers or strings):
        return "bool"
    if op in {"-", "*", "/"} and numbers:
        return _combined(left, right)
    if op in {"**", "^"} and numbers:
        return "float"
    if op == "%" and _is("int", left) and _is("int", right):
        return _combined(left, right)
    if op == "+" and (numbers or strings):
        return _combined(left, right) if numbers else "string"
    raise _type_error(f"invalid operation: {op} (mismatched types {left} and {right})")


def _forced_float(node: Node) -> bool:
    # checker.isIntegerOrArithmeticOperation: such an argument takes the parameter's type.
    if isinstance(node, Literal):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    return (isinstance(node, Unary) and node.op in {"-", "+"}) or (
        isinstance(node, Binary) and node.op in {"+", "-", "*", "/"}
    )


def _check_call(node: Call, pointers: tuple[str, ...], result: str) -> str:
    name = node.name
    if name in PREDICATE_FUNCTIONS:
        collection = _check(node.args[0], pointers, result)
        element = _index_type(collection)
        if element is None:
            raise _type_error(f"builtin {name} takes only array (got {collection})")
        body = _check(node.args[1], (*pointers, element), result)
        if not _is("bool", body):
            raise _type_error(f"closure should return boolean (got {body})")
        if name == "filter":
            return "array:" + element
        return "int" if name == "count" else "bool"
    args = [_check(arg, pointers, result) for arg in node.args]
    if name == "len":
        if _is("array", args[0]) or _is("string", args[0]):
            return "int"
        raise _type_error(f"invalid argument for len (type {args[0]})")
    if name in {"isNaN", "isInf"}:  # func(float64) bool in Argo's environment
        if args[0] in {"float", "nil", _ANY} or _forced_float(node.args[0]):
            return "bool"
        raise _type_error(f"cannot use {args[0]} as argument (type float64) to call {name}")
    if name == "abs":
        if _is("number", args[0]):
            return args[0]
        raise _type_error(f"invalid argument for abs (type {args[0]})")
    return {"isNil": "bool", "asInt": "int", "asFloat": "float"}.get(name, _ANY)


def _check(node: Node, pointers: tuple[str, ...], result: str) -> str:
    if isinstance(node, Literal):
        return {"float64": "float"}.get(_type_name(node.value), _type_name(node.value))
    if isinstance(node, ResultRef):
        return result
    if isinstance(node, Pointer):
        return pointers[-1]
    if isinstance(node, Unary):
        return _check_unary(node, _check(node.operand, pointers, result))
    if isinstance(node, Binary):
        left = _check(node.left, pointers, result)
        return _check_binary(node.op, left, _check(node.right, pointers, result))
    if isinstance(node, Index):
        target = _check(node.target, pointers, result)
        index = _check(node.index, pointers, result)
        element = _index_type(target)
        if element is None:
            raise _type_error(f"type {target} does not support indexing")
        if not (_is("int", index) or _is("string", index)):
            raise _type_error(f"cannot use {index} as index to {target}")
        return element
    if isinstance(node, Conditional):
        test = _check(node.test, pointers, result)
        if not _is("bool", test):
            raise _type_error(f"non-bool expression (type {test}) used as condition")
        then = _check(node.then, pointers, result)
        otherwise = _check(node.otherwise, pointers, result)
        if then == "nil" or then == otherwise:
            return otherwise
        return then if otherwise in {"nil", _ANY} else _ANY
    return _check_call(node, pointers, result)


def _result_type(result: Result) -> str:
    if result is None:
        return "nil"
    return "array:float" if isinstance(result, list) else "float"


# --------------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class Condition:
    """A compiled condition: its source text and the parsed tree."""

    source: str
    tree: Node

    def evaluate(self, result: Result) -> bool:
        """The condition's value for `result`; `EvalError` where expr would fail."""
        normalised = _normalise(result)
        _check(self.tree, (), _result_type(normalised))
        value = _eval(self.tree, _Env(normalised))
        if not isinstance(value, bool):
            raise EvalError(f"expected bool, but got {_type_name(value)}")
        return value


def _normalise(result: Result | Sequence[float]) -> Result:
    if result is None or isinstance(result, float):
        return result
    if isinstance(result, int):
        return float(result)
    return [float(v) for v in result]


def compile_condition(source: str, where: str) -> Condition:
    """Parse `source`; raise `UnsupportedExpression` naming `where` if it leaves the subset."""
    if not source.strip():
        raise UnsupportedExpression(f"{where}: empty condition")
    return Condition(source, _Parser(source, where).parse())
