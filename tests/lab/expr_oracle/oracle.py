"""The real expr library as an oracle for the lab's evaluator: build `main.go` once, drive it.

The binary is built offline in GOPATH mode against Debian's golang-github-antonmedv-expr-dev
(`make setup` installs it and golang-go) and cached under `.cache/expr-oracle/`, keyed by the
hash of its source, the Go version and the expr sources, so only the first session pays for
the build (docs/decisions/0080-expr-oracle-differential-test.md).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from paystream_ops.lab import expr as lab_expr
from paystream_ops.lab.expr import (
    PREDICATE_FUNCTIONS,
    Binary,
    Call,
    Condition,
    Conditional,
    EvalError,
    Index,
    Node,
    Result,
    Unary,
    compile_condition,
    tokenize,
)
from paystream_ops.paths import repo_root

SOURCE = Path(__file__).with_name("main.go")
GOPATH = Path("/usr/share/gocode")  # where Debian's golang-*-dev packages put their sources
EXPR_PACKAGE = GOPATH / "src/github.com/antonmedv/expr"

Outcome = Literal["true", "false", "error"]
Case = tuple[str, Result]
CHUNK = 64


class OracleUnavailable(Exception):
    """Go or the expr sources are missing: `make setup` installs them."""


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise OracleUnavailable("go not found: run `make setup` (Debian package golang-go)")
    if not (EXPR_PACKAGE / "expr.go").is_file():
        raise OracleUnavailable(
            f"{EXPR_PACKAGE} missing: run `make setup` "
            "(Debian package golang-github-antonmedv-expr-dev)"
        )
    return go


def _build_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GO111MODULE="off",  # GOPATH mode: imports resolve under GOPATH/src, no module download
        GOPATH=str(GOPATH),
        GOCACHE=str(cache / "gocache"),
        GOFLAGS="",
        GOPROXY="off",
        CGO_ENABLED="0",  # no C toolchain needed
    )
    return env


def _key(go: str) -> str:
    digest = hashlib.sha256(SOURCE.read_bytes())
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout
    digest.update(version.encode())
    for path in sorted(EXPR_PACKAGE.rglob("*.go")):
        if not path.name.endswith("_test.go"):
            digest.update(path.relative_to(EXPR_PACKAGE).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def oracle_binary(cache: Path | None = None) -> Path:
    """The built oracle; builds it (once per source hash, under a lock) if needed."""
    go = _go()
    cache = cache or repo_root() / ".cache" / "expr-oracle"
    cache.mkdir(parents=True, exist_ok=True)
    binary = cache / f"expr-oracle-{_key(go)}"
    with (cache / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers build it once
        if binary.is_file():
            return binary
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            built = Path(tmp) / "expr-oracle"
            done = subprocess.run(
                [go, "build", "-o", str(built), str(SOURCE)],
                capture_output=True,
                text=True,
                env=_build_env(cache),
                cwd=tmp,
                check=False,
            )
            if done.returncode != 0:
                raise OracleUnavailable(f"go build {SOURCE} failed: {done.stderr.strip()}")
            built.replace(binary)
    return binary


def _encode(result: Result) -> object:
    # Python's repr of a float round-trips exactly, and strconv.ParseFloat reads nan/inf/-inf.
    if result is None:
        return None
    if isinstance(result, list):
        return [repr(float(v)) for v in result]
    return repr(float(result))


class ExprOracle:
    """One long-lived oracle process: a line in, a line out."""

    def __init__(self, binary: Path) -> None:
        self.proc = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def evaluate_many(self, cases: Sequence[tuple[str, Result]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        # In chunks: the answers to one chunk fit in the pipe, so neither side blocks.
        for start in range(0, len(cases), CHUNK):
            outcomes += self._chunk(cases[start : start + CHUNK])
        return outcomes

    def _chunk(self, cases: Sequence[tuple[str, Result]]) -> list[Outcome]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        lines = "".join(json.dumps({"condition": c, "result": _encode(r)}) + "\n" for c, r in cases)
        self.proc.stdin.write(lines)
        self.proc.stdin.flush()
        outcomes: list[Outcome] = []
        for _ in cases:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"expr oracle exited ({self.proc.poll()})")
            answer = json.loads(line)
            if "error" in answer:
                outcomes.append("error")
            else:
                outcomes.append("true" if answer["value"] else "false")
        return outcomes

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


@contextmanager
def running_oracle(cache: Path | None = None) -> Iterator[ExprOracle]:
    oracle = ExprOracle(oracle_binary(cache))
    try:
        yield oracle
    finally:
        oracle.close()


@functools.cache
def _compiled(condition: str) -> Condition:
    return compile_condition(condition, "differential test")


def lab_outcome(condition: str, result: Result) -> Outcome:
    """What the lab's evaluator makes of `condition` on `result` (Error as in Argo)."""
    compiled = _compiled(condition)
    try:
        return "true" if compiled.evaluate(result) else "false"
    except EvalError:
        return "error"


def describe(result: Result) -> str:
    if isinstance(result, list):
        return "[" + ", ".join(_fmt(v) for v in result) + "]"
    return "nil" if result is None else _fmt(result)


def _fmt(value: float) -> str:
    return "NaN" if math.isnan(value) else repr(value)


# --------------------------------------------------------------------------------------------
# The common subset of expr v1.8.9 (the oracle) and expr-lang/expr v1.17 (Argo Rollouts)


def _children(node: Node) -> list[Node]:
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Index):
        return [node.target, node.index]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, Conditional):
        return [node.test, node.then, node.otherwise]
    return []


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in _children(node):
        yield from _walk(child)


def _integer(node: Node) -> bool:
    """Statically an integer in expr's checker (int literals, len, count, asInt, int arithmetic)."""
    if isinstance(node, lab_expr.Literal):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, Unary):
        return node.op in {"-", "+"} and _integer(node.operand)
    if isinstance(node, Binary):
        return node.op in {"+", "-", "*", "%"} and _integer(node.left) and _integer(node.right)
    if isinstance(node, Call):
        return node.name in {"asInt", "len", "count"}
    if isinstance(node, Conditional):
        return _integer(node.then) and _integer(node.otherwise)
    return False


def _bare_predicate(source: str) -> bool:
    """A predicate builtin whose second argument is not in braces (v1.17 only)."""
    tokens = tokenize(source, "differential test")
    for i, token in enumerate(tokens[:-1]):
        if token.kind != "name" or token.text not in PREDICATE_FUNCTIONS:
            continue
        if tokens[i + 1].text != "(":
            continue
        depth = 0
        for j in range(i + 1, len(tokens)):
            text = tokens[j].text if tokens[j].kind == "punct" else ""
            if text in {"(", "[", "{"}:
                depth += 1
            elif text in {")", "]", "}"}:
                depth -= 1
            elif text == "," and depth == 1:
                if tokens[j + 1].text != "{":
                    return True
                break
    return False


def outside_common_subset(source: str) -> str | None:
    """Why expr v1.8.9 cannot speak for v1.17 on `source` (None: it can).

    Each reason is a documented difference (docs/lab.md, "expr versions"); the lab follows
    v1.17 there, so the oracle is not asked.
    """
    tree = compile_condition(source, "differential test").tree
    for node in _walk(tree):
        if isinstance(node, Call) and node.name == "abs":
            return "abs() is a v1.17 builtin"
        if isinstance(node, Binary) and node.op == "^":
            return "^ is a v1.17 operator"
        if (
            isinstance(node, Binary)
            and node.op == "/"
            and _integer(node.left)
            and _integer(node.right)
        ):
            return "int / int truncates in v1.8.9, is a float in v1.17"
        if (
            isinstance(node, Unary)
            and isinstance(node.operand, Binary)
            and node.operand.op in {"**", "^"}
        ):
            return "unary minus binds tighter than ** in v1.8.9"
        if isinstance(node, Index) and isinstance(node.index, Unary) and node.index.op == "-":
            return "a negative index counts from the end in v1.17, is an error in v1.8.9"
    if _bare_predicate(source):
        return "a predicate without braces is v1.17 syntax"
    return None
