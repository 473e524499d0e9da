"""What each signal compares, canary against stable, as PromQL (pure).

Every signal is one score per network: the canary's count of bad events beyond what stable's
ratio predicts, over the spread that number has between two identical versions (a two-sample
test on the pooled ratio, `+ 1` so a handful against none is not "infinitely" significant),

    S = (Xc - Nc * (Xs / Ns + m)) / sqrt(Nc * (Xc + Xs) / (Nc + Ns) * (1 + Nc / Ns) + 1)

with a margin m of 0 except for latency:

- failures: X = failure outcomes (`paystream_auth.networks.FAILURE_OUTCOMES`), N = every
  outcome but `invalid`;
- approvals: X = declines, N = answers (approved + declined): a false-decline release;
- latency: X = requests slower than a histogram boundary, N = every request; the largest score
  over `budget.LATENCY_BOUNDARIES`, so a whole-network slowdown shows at the lowest boundary and
  a slow tail at a higher one. Stable's ratio is raised by `budget.LATENCY_MARGIN` first
  (`Xs / Ns + margin`): only the canary's excess beyond what one stalled pod makes slow counts
  (docs/decisions/0110-latency-margin-for-pod-stalls.md), shrunk at each boundary b to the share
  a stall of `latency-stall-seconds` S makes slower than b, `margin * max(0, 1 - b / S)`: 0 past
  the stall, where timeouts show (docs/decisions/0135-latency-margin-per-boundary.md). A
  boundary's score counts only where every sub-window (`latency-sub-window`, a PromQL subquery
  over the window) in which the canary served enough of the network to check
  (`latency-sub-window-requests` at equal traffic, fewer at a lower weight) shows that excess
  too; where one does not, the slow requests are a burst (a frozen pod), not a slower release,
  and the boundary reads 0 (docs/decisions/0130-latency-burst-guard.md, 0136).

Below the minimum count a network reads NaN (inconclusive) unless its score is already over
the bar: overwhelming evidence fails at any count. see docs/decisions/0061-decide-on-evidence.md
"""

from __future__ import annotations

from dataclasses import dataclass

from paystream_auth.networks import OUTCOMES, failure_regex

from paystream_ops.judge.budget import LATENCY_BOUNDARIES

REQUESTS = "paystream_auth_requests_total"
BUCKET = "paystream_auth_request_duration_seconds_bucket"
DURATION_COUNT = "paystream_auth_request_duration_seconds_count"
APPROVED, DECLINED, INVALID = "approved", "declined", "invalid"
assert {APPROVED, DECLINED, INVALID} <= set(OUTCOMES)


@dataclass(frozen=True)
class Signal:
    name: str  # the metric name's second half: `visa-<name>`
    title: str  # how a person reads it: "Visa: <title>"
    threshold_arg: str
    min_count_arg: str
    unit: str  # what X / N is, for the report's rates
    margin_arg: str | None = None  # a share added to stable's ratio before comparing
    stall_arg: str | None = None  # the stall the margin forgives, which shapes it per boundary
    # The burst guard's sub-window and its floor of canary requests (latency only).
    sub_window_arg: str | None = None
    sub_window_requests_arg: str | None = None

    def query(self, network: str) -> str:
        return QUERIES[self.name](network, self)


SIGNALS: tuple[Signal, ...] = (
    Signal("failures", "failures", "max-failures-score", "min-requests", "failed"),
    Signal("approvals", "declines", "max-approvals-score", "min-requests", "declined"),
    Signal(
        "latency",
        "latency",
        "max-latency-score",
        "min-latency-requests",
        "slower",
        "latency-margin",
        "latency-stall-seconds",
        "latency-sub-window",
        "latency-sub-window-requests",
    ),
)


def _selector(role: str, network: str, extra: str = "") -> str:
    """`network` is a name (one network) or "" (every known one, for the dashboard)."""
    where = f'network="{network}"' if network else 'network!="unknown"'
    return (
        f'job="auth-service", namespace="{{{{args.namespace}}}}", '
        f'rollouts_pod_template_hash="{{{{args.{role}-hash}}}}", {where}{extra}'
    )


def _sum(
    metric: str,
    role: str,
    network: str,
    extra: str = "",
    by: str = "network",
    window: str = "window",
) -> str:
    """`window`: the arg naming the range (the analysis window, or the burst guard's sub-window)."""
    selector = _selector(role, network, extra)
    return f"sum by ({by}) (increase({metric}{{{selector}}}[{{{{args.{window}}}}}]))"


def _indent(text: str, spaces: int = 2) -> str:
    return "\n".join(" " * spaces + line if line else line for line in text.splitlines())


def _group(text: str) -> str:
    return f"(\n{_indent(text)}\n)"


def _lines(*parts: str) -> str:
    return "\n".join(parts)


def score(xc: str, nc: str, xs: str, ns: str, margin: str | None = None) -> str:
    """The two-sample score of the module docstring, over four PromQL operands; `margin` (a
    vector by `le`) raises stable's ratio before the canary's excess is counted."""
    expected = (
        _lines(nc, "*", xs, "/", ns)
        if margin is None
        else _lines(nc, "*", _group(_lines(xs, "/", ns, "+ on (le) group_left ()", margin)))
    )
    excess = _lines(xc, "-", expected)
    spread = _lines(
        nc,
        "*",
        _group(_lines(xc, "+", xs)),
        "/",
        _group(_lines(nc, "+", ns)),
        "*",
        _group(_lines("1", "+", nc, "/", ns)),
        "+ 1",
    )
    return _lines(_group(excess), "/", "sqrt" + _group(spread))


def boundary_margins(signal: Signal) -> str:
    """The margin at each latency boundary, one sample per `le`: `margin * max(0, 1 - b / S)`."""
    assert signal.margin_arg and signal.stall_arg
    boundaries = _lines(
        *(
            ("or " if i else "") + f'label_replace(vector({b}), "le", "{b}", "", "")'
            for i, b in enumerate(LATENCY_BOUNDARIES)
        )
    )
    share = f"clamp_min(1 - {_group(boundaries)} / {{{{args.{signal.stall_arg}}}}}, 0)"
    return _group(_lines(f"{{{{args.{signal.margin_arg}}}}}", "*", share))


def decided(value: str, count: str, signal: Signal) -> str:
    """The score where the canary saw enough, or where it is over the bar; NaN otherwise."""
    enough = _group(f"{count} >= {{{{args.{signal.min_count_arg}}}}}")
    return _lines(
        _group(value),
        "  and on (network)",
        _indent(enough),
        "or on (network)",
        _indent(_group(value)) + f" > {{{{args.{signal.threshold_arg}}}}}",
        "or on (network)",
        _indent(_group(f"{count} * NaN")),
    )


def _ratio_operands(network: str, bad: str, total: str) -> tuple[str, str, str, str]:
    """X and N for canary and stable; `or 0 * N`: a network without a bad series yet reads 0."""

    def side(role: str) -> tuple[str, str]:
        n = _sum(REQUESTS, role, network, total)
        x = _group(_lines(_sum(REQUESTS, role, network, bad), "or", f"0 * {n}"))
        return x, n

    (xc, nc), (xs, ns) = side("canary"), side("stable")
    return xc, nc, xs, ns


def _failures(network: str, signal: Signal) -> str:
    xc, nc, xs, ns = _ratio_operands(
        network, f', outcome=~"{failure_regex()}"', f', outcome!="{INVALID}"'
    )
    return decided(score(xc, nc, xs, ns), nc, signal)


def _approvals(network: str, signal: Signal) -> str:
    xc, nc, xs, ns = _ratio_operands(
        network, f', outcome="{DECLINED}"', f', outcome=~"{APPROVED}|{DECLINED}"'
    )
    return decided(score(xc, nc, xs, ns), nc, signal)


def _latency_operands(network: str, window: str) -> tuple[str, str, str, str]:
    """X (slower than each boundary) and N per (network, le), canary and stable, over `window`."""
    boundaries = "|".join(LATENCY_BOUNDARIES)

    def side(role: str) -> tuple[str, str]:
        under = _sum(BUCKET, role, network, f', le=~"{boundaries}"', "network, le", window)
        total = _sum(DURATION_COUNT, role, network, window=window)
        # N per (network, le): the network's total copied onto each boundary's labels.
        n = _group(_lines(f"0 * {under}", "+ on (network) group_left", total))
        return _group(_lines(n, "-", under)), n

    (xc, nc), (xs, ns) = side("canary"), side("stable")
    return xc, nc, xs, ns


def burst_guard(network: str, signal: Signal) -> str:
    """1 per (network, le) where every checked sub-window shows the canary's excess beyond the
    margin, 0 where one does not; 1 where no sub-window has enough canary requests to check
    (the floor at equal traffic, less at a lower canary weight).
    Subquery steps are aligned to multiples of the sub-window (not to the measurement): the
    checked sub-windows end in the window (Prometheus 2 also at its start), and the freshest,
    partial one is left to the whole-window score."""
    assert signal.sub_window_arg and signal.sub_window_requests_arg
    sub = signal.sub_window_arg
    xc, nc, xs, ns = _latency_operands(network, sub)
    excess = _lines(
        xc,
        "-",
        nc,
        "*",
        _group(_lines(xs, "/", ns, "+ on (le) group_left ()", boundary_margins(signal))),
    )
    # Checked from the floor at equal traffic, scaled by the excess's variance at the canary's
    # weight, (1 + Nc / Ns) / 2 (docs/decisions/0136-burst-guard-floor-follows-the-weight.md).
    canary = _sum(DURATION_COUNT, "canary", network, window=sub)
    stable = _sum(DURATION_COUNT, "stable", network, window=sub)
    floor = f"{{{{args.{signal.sub_window_requests_arg}}}}} * (1 + {canary} / {stable}) / 2"
    checked = _group(
        _lines(
            _group(excess) + " > bool 0",
            "and on (network)",
            _group(_lines(canary, ">=", floor)),
        )
    )
    every = f"min_over_time({checked}[{{{{args.window}}}}:{{{{args.{sub}}}}}])"
    boundaries = "|".join(LATENCY_BOUNDARIES)
    unchecked = _sum(BUCKET, "canary", network, f', le=~"{boundaries}"', by="network, le")
    return _group(_lines(every, "or on (network, le)", _group(f"0 * {unchecked} + 1")))


def _latency(network: str, signal: Signal) -> str:
    xc, nc, xs, ns = _latency_operands(network, "window")
    guarded = _lines(
        _group(score(xc, nc, xs, ns, boundary_margins(signal))), "*", burst_guard(network, signal)
    )
    # `+ 0`: a vetoed negative score reads 0, not -0.
    worst = _lines(f"max by (network) {_group(guarded)}", "+ 0")
    return decided(worst, _sum(DURATION_COUNT, "canary", network), signal)


QUERIES = {"failures": _failures, "approvals": _approvals, "latency": _latency}


def count_queries(signal: str, network: str) -> dict[str, str]:
    """The counts a signal compares, per role, for a person to read beside the score:
    `<role>-bad` and `<role>-total`; latency gives `<role>-under` per boundary (by `le`)."""
    out: dict[str, str] = {}
    for role in ("canary", "stable"):
        if signal == "latency":
            boundaries = "|".join(LATENCY_BOUNDARIES)
            out[f"{role}-under"] = _sum(
                BUCKET, role, network, f', le=~"{boundaries}"', by="network, le"
            )
            out[f"{role}-total"] = _sum(DURATION_COUNT, role, network)
            continue
        bad, total = (
            (f', outcome=~"{failure_regex()}"', f', outcome!="{INVALID}"')
            if signal == "failures"
            else (f', outcome="{DECLINED}"', f', outcome=~"{APPROVED}|{DECLINED}"')
        )
        out[f"{role}-bad"] = _sum(REQUESTS, role, network, bad)
        out[f"{role}-total"] = _sum(REQUESTS, role, network, total)
    return out
