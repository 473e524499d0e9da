"""Analysis conditions guard empty and NaN results; queries read canary data and parse.

Argo Rollouts evaluates ``result[0]`` on an empty vector as an Error (five in a row abort the
rollout) and NaN compares false both ways. So every condition must test ``len(result)`` and
``isNaN``; both conditions must exist, or a measurement can never be Inconclusive; and a
query must select the pod-template hash, or it never sees canary data (the original incident's
analysis filtered on a label the app never emitted). Queries are parsed by the real promtool
with the template's default args filled in. A latency comparison must carry the stall margin,
and the window must be long enough for the margin to cover the stall it is derived from
(docs/decisions/0110-latency-margin-for-pod-stalls.md); the margin is shaped per boundary by
that stall, at least the tolerated one (docs/decisions/0135-latency-margin-per-boundary.md);
and the burst guard: a subquery over
the window's sub-windows with a floor of canary requests, at least three sub-windows to a
window (docs/decisions/0130-latency-burst-guard.md).

A figure (`<network>-canary-<figure>`, judge/figures.py) is the one exception: it has no
conditions and is dry-run, so it never decides; a metric named like one that could decide is
refused. see docs/decisions/0122-canary-figures-beside-the-verdict.md
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from paystream_ops.errors import UserError
from paystream_ops.judge.budget import MIN_SUB_WINDOWS, TOLERATED_STALL_SECONDS
from paystream_ops.judge.figures import figure_of, looks_like_figure
from paystream_ops.lab.durations import parse_prometheus_duration
from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.checks.rollout import ARG_TAG, declared_args
from paystream_ops.validate.model import K8sObject, Problem, as_dict, as_list, dig, obj_id

NAME = "analysis-guards"
_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")
_PLACEHOLDER_HASH = "0123456789"
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_RULE_ERROR = re.compile(r'rule (\d+), "([^"]*)": (.*)')
_MIN_COUNT = re.compile(r"\{\{\s*args\.min-[\w-]*requests\s*\}\}")
_ONE_NETWORK = re.compile(r'network="([a-z]+)"')
_MARGIN_ARG = "latency-margin"
_MARGIN = re.compile(r"\{\{\s*args\.latency-margin\s*\}\}")
_STALL_ARG = "latency-stall-seconds"
_STALL = re.compile(r"\{\{\s*args\.latency-stall-seconds\s*\}\}")
_LATENCY_SERIES = "_duration_seconds_bucket"
_SUB_WINDOW_ARG = "latency-sub-window"
_BURST_GUARD = (
    re.compile(r"min_over_time\("),
    re.compile(r"\[\{\{\s*args\.window\s*\}\}:\{\{\s*args\.latency-sub-window\s*\}\}\]"),
    re.compile(r"\{\{\s*args\.latency-sub-window-requests\s*\}\}"),
)


def check(ctx: TargetContext) -> Iterator[Problem]:
    queries: list[tuple[K8sObject, str, str]] = []
    for template in ctx.rendered.of_kind(*_KINDS):
        defaults = {
            n: str(a.get("value", _PLACEHOLDER_HASH)) for n, a in declared_args(template).items()
        }
        dry_run = [
            str(as_dict(d).get("metricName", "")) for d in as_list(dig(template, "spec", "dryRun"))
        ]
        yield from _margin_window(ctx, template, defaults)
        yield from _sub_windows(ctx, template, defaults)
        for i, metric in enumerate(as_list(dig(template, "spec", "metrics"))):
            metric = as_dict(metric)
            where = f"spec.metrics[{metric.get('name', i)}]"
            name = str(metric.get("name", ""))
            figure = looks_like_figure(name)
            if figure:
                yield from _figure(ctx, template, where, metric, dry_run)
            # A Job metric has no conditions (the Job's status is its result); the
            # synthetic-load check requires such metrics to be dry-run.
            elif "job" not in as_dict(metric.get("provider")):
                yield from _conditions(ctx, template, where, metric)
            query = dig(metric, "provider", "prometheus", "query")
            if isinstance(query, str):
                yield from _query(ctx, template, where, query)
                yield from _verdict(ctx, template, where, name, query, figure=figure)
                filled = fill_args(query, defaults)
                queries.append((template, where, filled))
    yield from _parse(ctx, queries)


def fill_args(text: str, values: dict[str, str]) -> str:
    """``{{args.NAME}}`` replaced by the value (a placeholder hash for args without one)."""
    return ARG_TAG.sub(lambda m: values.get(m.group(1), _PLACEHOLDER_HASH), text)


def _conditions(
    ctx: TargetContext, template: K8sObject, where: str, metric: dict[str, object]
) -> Iterator[Problem]:
    for field in ("successCondition", "failureCondition"):
        condition = metric.get(field)
        if not isinstance(condition, str) or not condition.strip():
            yield ctx.problem(
                template,
                f"{where}.{field}",
                "missing: with one condition a "
                "measurement is never Inconclusive, so too little data passes or "
                "fails",
                NAME,
            )
            continue
        if "len(result)" not in condition.replace(" ", ""):
            yield ctx.problem(
                template,
                f"{where}.{field}",
                "does not guard an empty result with len(result) > 0 (an empty vector is an Error)",
                NAME,
            )
        if "isNaN(" not in condition:
            yield ctx.problem(
                template,
                f"{where}.{field}",
                "does not guard NaN with isNaN() (NaN compares false both ways)",
                NAME,
            )


def _figure(
    ctx: TargetContext,
    template: K8sObject,
    where: str,
    metric: dict[str, object],
    dry_run: list[str],
) -> Iterator[Problem]:
    """A figure never decides: no condition (Successful unless it errors) and dry-run (an
    Error never reaches the run's phase)."""
    for field in ("successCondition", "failureCondition"):
        if metric.get(field):
            yield ctx.problem(
                template,
                f"{where}.{field}",
                "a `<network>-canary-<figure>` metric is a figure, never a verdict: it has no "
                "conditions (name a deciding metric `<network>-<signal>`)",
                NAME,
            )
    name = str(metric.get("name", ""))
    if figure_of(name) is None:
        yield ctx.problem(
            template,
            f"{where}.name",
            "not a figure the judge defines (judge/figures.py): the evidence would refuse it",
            NAME,
        )
    if not any(re.search(pattern, name) for pattern in dry_run if pattern):
        yield ctx.problem(
            template,
            f"{where}.name",
            "a `<network>-canary-<figure>` metric must be dry-run (spec.dryRun), or an error "
            "measuring it would end the analysis in Error",
            NAME,
        )


def _query(ctx: TargetContext, template: K8sObject, where: str, query: str) -> Iterator[Problem]:
    if "paystream_auth_" not in query:
        return
    if "rollouts_pod_template_hash" not in query:
        yield ctx.problem(
            template,
            f"{where}.provider.prometheus.query",
            "does not select rollouts_pod_template_hash: it cannot tell canary from stable",
            NAME,
        )
    if not re.search(r"by\s*\(\s*network\b", query):
        yield ctx.problem(
            template,
            f"{where}.provider.prometheus.query",
            "does not keep the "
            "network label (sum by (network ...)): a failure on one card network "
            "drowns in the others",
            NAME,
        )


def _verdict(
    ctx: TargetContext, template: K8sObject, where: str, name: str, query: str, *, figure: bool
) -> Iterator[Problem]:
    if "paystream_auth_" not in query:
        return
    # A figure reports what the canary saw at any count; only verdicts need the minimum.
    if not figure and not _MIN_COUNT.search(query):
        yield ctx.problem(
            template,
            f"{where}.provider.prometheus.query",
            "has no min-count arg ({{args.min-requests}}): a network the canary served a "
            "handful of times would pass or fail instead of reading NaN (inconclusive)",
            NAME,
        )
    if not figure and _LATENCY_SERIES in query:
        for message in _latency_gaps(query):
            yield ctx.problem(template, f"{where}.provider.prometheus.query", message, NAME)
    networks = set(_ONE_NETWORK.findall(query))
    if len(networks) == 1 and not name.startswith(f"{next(iter(networks))}-"):
        network = next(iter(networks))
        yield ctx.problem(
            template,
            f"{where}.name",
            f"judges network {network} but does not say so: name it {network}-<signal> so a "
            "failed verdict names the network",
            NAME,
        )


def _latency_gaps(query: str) -> Iterator[str]:
    """What a latency verdict's query lacks: the stall margin, then its shape per boundary
    (meaningless without the margin), and the burst guard."""
    if not _MARGIN.search(query):
        yield (
            "compares latency without the stall margin ({{args.latency-margin}}): one pod's "
            "brief stall would abort a healthy release (docs/decisions/0110)"
        )
    elif not _STALL.search(query):
        yield (
            "shapes no stall margin per boundary ({{args.latency-stall-seconds}}): timeouts, "
            "slower than any stall, would be forgiven like a stall (docs/decisions/0135)"
        )
    if not all(r.search(query) for r in _BURST_GUARD):
        yield (
            "compares latency without the burst guard (min_over_time over "
            "[{{args.window}}:{{args.latency-sub-window}}] with "
            "{{args.latency-sub-window-requests}}): one frozen pod's burst would abort a "
            "healthy release (docs/decisions/0130)"
        )


def _margin_window(
    ctx: TargetContext, template: K8sObject, defaults: dict[str, str]
) -> Iterator[Problem]:
    """The margin is a share of the window: a shorter window lets a stall of one pod exceed it."""
    if _MARGIN_ARG not in defaults or "window" not in defaults:
        return
    try:
        margin = float(defaults[_MARGIN_ARG])
        window = parse_prometheus_duration(defaults["window"], "window")
    except (ValueError, UserError):
        yield ctx.problem(
            template,
            "spec.args",
            f"{_MARGIN_ARG} {defaults[_MARGIN_ARG]!r} and window {defaults['window']!r} must be "
            "a share (0.01) and a Prometheus duration (2m)",
            NAME,
        )
        return
    if not 0 <= margin < 1 or margin * window < TOLERATED_STALL_SECONDS - 1e-9:
        yield ctx.problem(
            template,
            "spec.args",
            f"{_MARGIN_ARG} {defaults[_MARGIN_ARG]} of a {defaults['window']} window covers a "
            f"{margin * window:g} s stall of one pod, under the {TOLERATED_STALL_SECONDS:g} s "
            "the judge tolerates: lengthen the window or see docs/decisions/0110",
            NAME,
        )
    elif _STALL_ARG in defaults:
        yield from _stall(ctx, template, defaults[_STALL_ARG], margin * window)


def _stall(
    ctx: TargetContext, template: K8sObject, value: str, covered: float
) -> Iterator[Problem]:
    """The stall shaping the margin: at least the tolerated one, at most what the margin covers."""
    try:
        stall = float(value)
    except ValueError:
        stall = -1.0
    if not TOLERATED_STALL_SECONDS - 1e-9 <= stall <= covered + 1e-9:
        yield ctx.problem(
            template,
            f"spec.args.[name={_STALL_ARG}]",
            f"{_STALL_ARG} {value!r} must be a number of seconds from the tolerated "
            f"{TOLERATED_STALL_SECONDS:g} s to the {covered:g} s the margin covers in the "
            "window (docs/decisions/0135)",
            NAME,
        )


def _sub_windows(
    ctx: TargetContext, template: K8sObject, defaults: dict[str, str]
) -> Iterator[Problem]:
    """A stall straddles at most two sub-windows: a window of fewer than three has none clean."""
    if _SUB_WINDOW_ARG not in defaults or "window" not in defaults:
        return
    try:
        sub = parse_prometheus_duration(defaults[_SUB_WINDOW_ARG], _SUB_WINDOW_ARG)
        window = parse_prometheus_duration(defaults["window"], "window")
    except UserError:
        yield ctx.problem(
            template,
            "spec.args",
            f"{_SUB_WINDOW_ARG} {defaults[_SUB_WINDOW_ARG]!r} and window {defaults['window']!r} "
            "must be Prometheus durations (30s, 2m)",
            NAME,
        )
        return
    if sub <= 0 or window < MIN_SUB_WINDOWS * sub - 1e-9:
        yield ctx.problem(
            template,
            "spec.args",
            f"a {defaults['window']} window holds {window / sub if sub > 0 else 0:g} "
            f"{_SUB_WINDOW_ARG}s of {defaults[_SUB_WINDOW_ARG]}, under {MIN_SUB_WINDOWS}: a stall "
            "across a border would leave no clean one to tell a burst from a regression "
            "(docs/decisions/0130)",
            NAME,
        )


def promtool_binary() -> str | None:
    return shutil.which("promtool")


def _parse(ctx: TargetContext, queries: list[tuple[K8sObject, str, str]]) -> Iterator[Problem]:
    if not queries:
        return
    promtool = promtool_binary()
    if promtool is None:
        yield ctx.problem(
            None,
            "",
            "promtool not found: analysis queries cannot be parsed (`make setup` installs it)",
            NAME,
        )
        return
    rules = [{"record": f"validate:query_{i}", "expr": q} for i, (_, _, q) in enumerate(queries)]
    with tempfile.TemporaryDirectory(prefix="paystream-validate-") as tmp:
        path = Path(tmp) / "queries.yaml"
        # libyaml's emitter: the pure-Python one spends seconds on the long quoted queries.
        text = yaml.dump({"groups": [{"name": "analysis", "rules": rules}]}, Dumper=_DUMPER)
        path.write_text(text)
        proc = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
    if proc.returncode == 0:
        return
    found = False
    for line in (proc.stdout + proc.stderr).splitlines():
        match = _RULE_ERROR.search(line)
        if match:
            index = int(match.group(1)) - 1
            if 0 <= index < len(queries):
                template, where, _ = queries[index]
                found = True
                yield ctx.problem(
                    template,
                    f"{where}.provider.prometheus.query",
                    f"PromQL does not parse: {match.group(3).strip()}",
                    NAME,
                )
    if not found:
        detail = " ".join((proc.stdout + proc.stderr).split())[:300]
        yield ctx.problem(None, "", f"promtool rejected the analysis queries: {detail}", NAME)


__all__ = ["NAME", "check", "obj_id"]
