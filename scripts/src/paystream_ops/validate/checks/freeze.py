"""The change freeze: an AppProject's sync windows as Argo CD will read them.

Every window: kind allow|deny, a schedule robfig/cron parses (five fields, no year), a Go
duration above zero, a stated time zone that exists (Argo CD silently falls back to UTC), at
least one selector, a schedule that fires (one that never does is always active), and
`manualSync: true` (a rollback must stay possible). A project with deny windows needs a role
that may sync by hand. A project that declares its peak periods (`paystream.io/peak-periods`)
must list this year's and the next Black Friday to Cyber Monday, and its deny windows must
cover every listed peak, instant by instant, for every Application of the project but the
app-of-apps roots; the prod cluster must declare them. Rules: paystream_ops.freeze.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from paystream_ops.freeze.cluster import source_paths
from paystream_ops.freeze.cron import next_fire
from paystream_ops.freeze.peaks import ANNOTATION, PeakError, missing_peaks, parse_peaks
from paystream_ops.freeze.syncwindows import (
    AppRef,
    SyncWindow,
    active_intervals,
    project_windows,
    resolve_zone,
    uncovered,
    window_matches,
)
from paystream_ops.validate.checks import TargetContext
from paystream_ops.validate.model import K8sObject, Problem, annotations_of, as_list, dig, name_of

NAME = "freeze"
PROD_CLUSTER = "clusters/prod"
_POLICY_SYNC = ("applications", "sync")


def check(ctx: TargetContext, today: date | None = None) -> Iterator[Problem]:
    day = today or datetime.now(UTC).date()
    for project in ctx.rendered.of_kind("AppProject"):
        yield from _project(ctx, project, day)


def _apps_of(ctx: TargetContext, project: K8sObject) -> list[K8sObject]:
    """The project's Applications here, minus app-of-apps roots (they apply the freeze)."""
    return [
        a
        for a in ctx.rendered.of_kind("Application")
        if str(dig(a, "spec", "project") or "default") == name_of(project)
        and not any(p.split("/")[0] == "clusters" for p in source_paths(a))
    ]


def _project(ctx: TargetContext, project: K8sObject, today: date) -> Iterator[Problem]:
    windows = project_windows(project)
    for w in windows:
        yield from _window(ctx, project, w)
    if any(w.kind == "deny" for w in windows):
        yield from _break_glass_role(ctx, project)
    raw = annotations_of(project).get(ANNOTATION)
    where = f"metadata.annotations[{ANNOTATION}]"
    if raw is None:
        if ctx.name == PROD_CLUSTER or ctx.name.endswith("/" + PROD_CLUSTER):
            yield ctx.problem(
                project,
                where,
                "missing: prod must declare the peak periods its change freeze covers",
                NAME,
            )
        return
    try:
        peaks = parse_peaks(raw)
    except PeakError as exc:
        yield ctx.problem(project, where, str(exc), NAME)
        return
    for year in missing_peaks(peaks, today):
        yield ctx.problem(
            project,
            where,
            f"does not list Black Friday to Cyber Monday {year}: on {today} the freeze must "
            "cover this year's peak and the next one",
            NAME,
        )
    usable = [w for w in windows if not w.errors and w.kind == "deny"]
    apps = [AppRef.from_object(a) for a in _apps_of(ctx, project)]
    for peak in peaks:
        spans = {w.index: active_intervals(w, peak.start, peak.end) for w in usable}
        gaps: dict[str, datetime] = {}
        for ref in apps:
            mine = [iv for w in usable if window_matches(w, ref) for iv in spans[w.index]]
            gap = uncovered(mine, peak.start, peak.end)
            if gap is not None:
                gaps[ref.name] = gap
        if gaps:
            first = min(gaps.values()).astimezone(peak.zone).strftime("%Y-%m-%d %H:%M %Z")
            yield ctx.problem(
                project,
                "spec.syncWindows",
                f"peak {peak.name} ({peak.first_day} to {peak.last_day}, {peak.time_zone}) is "
                f"not covered for {', '.join(sorted(gaps))}: an automated sync could run at "
                f"{first}",
                NAME,
            )


def _window(ctx: TargetContext, project: K8sObject, w: SyncWindow) -> Iterator[Problem]:
    base = f"spec.syncWindows[{w.index}]"
    for field, message in w.errors:
        yield ctx.problem(project, f"{base}.{field}", message, NAME)
    if not w.time_zone:
        yield ctx.problem(
            project, f"{base}.timeZone", "missing: state the zone (Argo CD assumes UTC)", NAME
        )
    elif resolve_zone(w.time_zone) is None or w.time_zone == "Local":
        yield ctx.problem(
            project,
            f"{base}.timeZone",
            f"{w.time_zone!r} is not an IANA time zone: Argo CD would silently use UTC",
            NAME,
        )
    if w.length is not None and w.length <= timedelta(0):
        yield ctx.problem(project, f"{base}.duration", f"{w.duration}: never active", NAME)
    if w.spec is not None and next_fire(w.spec, datetime(2000, 1, 1)) is None:
        yield ctx.problem(
            project,
            f"{base}.schedule",
            f"{w.schedule!r} never fires: Argo CD would treat the window as always active",
            NAME,
        )
    if not (w.applications or w.namespaces or w.clusters):
        yield ctx.problem(
            project, base, "names no applications, namespaces or clusters: matches nothing", NAME
        )
    if not w.manual_sync:
        yield ctx.problem(
            project,
            f"{base}.manualSync",
            "not true: while this window is active nobody could sync by hand, not even a rollback",
            NAME,
        )


def _break_glass_role(ctx: TargetContext, project: K8sObject) -> Iterator[Problem]:
    name = name_of(project)
    for role in as_list(dig(project, "spec", "roles")):
        if not isinstance(role, dict) or not as_list(role.get("groups")):
            continue
        for policy in as_list(role.get("policies")):
            parts = [p.strip() for p in str(policy).split(",")]
            if (
                len(parts) == 6
                and parts[0] == "p"
                and parts[2] == _POLICY_SYNC[0]
                and parts[3] in (_POLICY_SYNC[1], "*")
                and parts[4] in (f"{name}/*", "*/*", "*")
                and parts[5] == "allow"
            ):
                return
    yield ctx.problem(
        project,
        "spec.roles",
        "no role with a group may sync every Application by hand "
        f"(`p, proj:{name}:<role>, applications, sync, {name}/*, allow`): a rollback during "
        "the freeze needs one",
        NAME,
    )
