"""The lab's caller figures: double authorizations and holds left from the service processes'
own counters against what the retrying callers saw, per network; the report shows them."""

from __future__ import annotations

from paystream_ops.lab.accounting import Sample
from paystream_ops.lab.callers import CallerReport, caller_report, network_side
from paystream_ops.lab.loadgen import CALLER_FIELDS, NETWORKS, caller_index
from paystream_ops.lab.report import callers_json, callers_markdown, callers_summary


def exposition(approvals: dict[str, int], holds: dict[str, int]) -> str:
    lines = ["# TYPE paystream_auth_keyed_approvals counter"]
    lines += [
        f'paystream_auth_keyed_approvals_total{{network="{n}"}} {float(v)}'
        for n, v in approvals.items()
    ]
    lines += [f'paystream_auth_keyed_approvals_created{{network="{n}"}} 1.7e9' for n in approvals]
    lines.append('paystream_auth_reversals_total{network="visa",result="reversed"} 4.0')
    lines.append('paystream_auth_reversals_total{network="visa",result="failed"} 9.0')
    lines.append("# TYPE paystream_auth_unreversed_holds counter")
    lines += [
        f'paystream_auth_unreversed_holds_total{{network="{n}"}} {float(v)}'
        for n, v in holds.items()
    ]
    return "\n".join(lines) + "\n"


def final_sample(**visa: int) -> Sample:
    callers = [0] * (len(NETWORKS) * len(CALLER_FIELDS))
    for name, value in visa.items():
        callers[caller_index(NETWORKS.index("visa"), CALLER_FIELDS.index(name))] = value
    return Sample(at=1.0, issued=0, scheduled=0, pending=0, counts=(), callers=tuple(callers))


def visa_of(report: CallerReport) -> dict[str, int]:
    found = callers_json(report)
    assert found is not None
    return next(n for n in found["per_network"] if n["network"] == "visa")


def test_both_processes_counts_are_summed_per_network() -> None:
    side = network_side(
        [
            exposition({"visa": 90, "amex": 3}, {"visa": 0}),
            exposition({"visa": 10}, {"visa": 2}),  # the canary
        ]
    )
    assert side.approvals == {"visa": 100, "mastercard": 0, "amex": 3, "discover": 0}
    assert side.holds_left["visa"] == 2
    assert side.reversed["visa"] == 8  # `reversed` only, of both processes


def test_one_approval_per_approved_key_is_no_double_authorization() -> None:
    side = network_side([exposition({"visa": 95}, {"visa": 0})])
    report = caller_report(
        final_sample(keys=100, retries=7, served=98, served_after_retry=6, approved=95, gave_up=1),
        side,
        retrying=True,
    )
    visa = visa_of(report)
    assert visa["double_authorizations"] == 0 and visa["holds_left"] == 0
    assert (visa["served"], visa["served_after_retry"], visa["unfinished"]) == (98, 6, 1)


def test_a_key_authorized_twice_is_counted_as_a_double_authorization() -> None:
    # 95 keys approved at the callers, 96 approvals at the network: one key was authorized a
    # second time (its first approval's answer never reached the caller, as when a store forgets).
    side = network_side([exposition({"visa": 90}, {}), exposition({"visa": 6}, {"visa": 1})])
    report = caller_report(final_sample(keys=100, served=95, approved=95), side, retrying=True)
    visa = visa_of(report)
    assert visa["double_authorizations"] == 1 and visa["holds_left"] == 1
    assert report.total("double_authorizations") == 1
    text = "\n".join(callers_markdown(report))
    assert "| visa | 100 | 0 | 95 (0) | 0 | 5 | 95 (96) | 1 | 1 (8) |" in text
    rows = dict(callers_summary(report))
    assert "double authorizations 1; holds left 1" in rows["retrying callers"]


def test_single_callers_show_only_the_holds_left() -> None:
    report = caller_report(None, network_side([exposition({}, {"amex": 2})]), retrying=False)
    found = callers_json(report)
    assert found is not None and found["mode"] == "single" and found["holds_left"] == 2
    assert "`traffic.callers: single`" in "\n".join(callers_markdown(report))
    assert callers_summary(report) == [("callers", "single (no key, no retry); holds left 2")]
    assert callers_json(None) is None and callers_markdown(None) == []


def test_requests_unanswered_at_the_end_are_no_double_authorization_but_one_more_is() -> None:
    # Two keyed Visa requests were still in flight when the run stopped: the network may have
    # approved them, their callers could not know.
    def report(network_approvals: int) -> CallerReport:
        final = final_sample(keys=100, served=95, approved=95)
        final = Sample(1.0, 0, 0, 0, (), final.callers, unanswered=(2, 0, 0, 0))
        side = network_side([exposition({"visa": network_approvals}, {})])
        return caller_report(final, side, retrying=True)

    assert visa_of(report(97))["double_authorizations"] == 0
    assert visa_of(report(98))["double_authorizations"] == 1
    assert visa_of(report(98))["unanswered"] == 2
