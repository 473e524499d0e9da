"""`paystream-ops lab`: replay a release against the overlay's real Rollout and analysis."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from paystream_ops.errors import UserError
from paystream_ops.paths import ENVIRONMENTS

DEFAULT_SCENARIO = "incident-visa-timeouts"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "lab",
        help="the canary lab: run a scenario through the overlay's Rollout steps and analysis",
        description=(
            "Render the overlay, start stable and canary instances of the service, a real "
            "Prometheus and a traffic generator on loopback, and execute the Rollout's canary "
            "steps and AnalysisTemplates with Argo Rollouts' semantics, in compressed time. "
            "Exits 0 when the verdict is the one the scenario expects on that overlay, 1 when it "
            "is not."
        ),
    )
    parser.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        metavar="NAME|PATH",
        help=f"a scenario name or a YAML file (default {DEFAULT_SCENARIO})",
    )
    parser.add_argument("--overlay", choices=ENVIRONMENTS, default="prod", help="default prod")
    parser.add_argument(
        "--time-scale",
        type=float,
        metavar="F",
        help="divide every duration by F and multiply the rate by F (default: the scenario's)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        metavar="TPS",
        help="authorizations per second, real-time equivalent (default: the scenario's)",
    )
    parser.add_argument("--seed", type=int, help="seed for traffic and simulators")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run N times with seeds SEED..SEED+N-1 and summarise (e.g. 20 healthy runs)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the result as JSON")
    parser.add_argument(
        "--report", type=Path, metavar="DIR", help="write a markdown report and a PNG chart"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="give up after this many wall-clock seconds without a verdict (default 300)",
    )
    parser.add_argument(
        "--pause-hold",
        type=float,
        metavar="SECONDS",
        help="real-time seconds a pause is held, the background analysis still running, "
        "before the verdict (default: the scenario's, 300)",
    )
    parser.add_argument("--quiet", action="store_true", help="no live progress, summary only")
    parser.add_argument(
        "--record-figures",
        action="store_true",
        help="write the figures into this run's section of docs/figures.md (and its chart)",
    )
    parser.add_argument(
        "--keep-workdir",
        type=Path,
        metavar="DIR",
        help="keep process logs and Prometheus data in DIR (for debugging)",
    )
    parser.set_defaults(handler=run)


def _report_dir(args: argparse.Namespace, seed: int) -> Path:
    """--report DIR, one folder per seed with --repeat; the Rollout and AnalysisRuns go in
    DIR/controller (`paystream-ops status --from-lab DIR` reads them)."""
    directory: Path = args.report
    return directory if args.repeat == 1 else directory / f"seed-{seed}"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from paystream_ops.lab.progress import Progress
    from paystream_ops.lab.report import (
        print_summary,
        result_json,
        write_json,
        write_report,
    )
    from paystream_ops.lab.runner import LabOptions, run_lab
    from paystream_ops.lab.scenario import MAX_PAUSE_HOLD_SECONDS, load_scenario
    from paystream_ops.paths import overlay_dir
    from paystream_ops.render import render

    if args.repeat < 1:
        raise UserError("--repeat: expected 1 or more")
    if args.time_scale is not None and not 1 <= args.time_scale <= 100:
        raise UserError("--time-scale: expected 1..100")
    if args.pause_hold is not None and not 0 <= args.pause_hold <= MAX_PAUSE_HOLD_SECONDS:
        raise UserError(f"--pause-hold: expected 0..{MAX_PAUSE_HOLD_SECONDS:g} seconds")
    if args.rate is not None and args.rate <= 0:
        raise UserError("--rate: expected a positive number of authorizations per second")
    scenario, path = load_scenario(args.scenario)
    directory = overlay_dir(args.overlay)
    objects = render(directory)
    console = Console(stderr=False)
    first_seed = args.seed if args.seed is not None else scenario.seed
    results: list[dict[str, Any]] = []
    runs = []
    all_matched = True
    for index in range(args.repeat):
        seed = first_seed + index
        options = LabOptions(
            scenario=scenario,
            scenario_path=path,
            objects=objects,
            overlay=f"overlays/{args.overlay}",
            time_scale=args.time_scale or scenario.time_scale,
            rate_per_second=args.rate or scenario.traffic.rate_per_second,
            seed=seed,
            max_lab_seconds=args.max_seconds,
            keep_workdir=args.keep_workdir,
            controller_dir=_report_dir(args, seed) / "controller" if args.report else None,
            pause_hold_seconds=args.pause_hold,
        )
        live = console.is_terminal and args.repeat == 1
        with Progress(console, live=live, quiet=args.quiet or args.repeat > 1) as progress:
            result = run_lab(options, progress)
        all_matched = all_matched and result.matched_expectation
        if args.repeat == 1:
            print_summary(result, console)
        else:
            console.print(
                f"run {index + 1}/{args.repeat} seed {seed}: {result.verdict} "
                f"({'as expected' if result.matched_expectation else 'NOT as expected'}), "
                f"affected {result.cost.affected_transactions}, "
                f"exposure {result.canary_exposure_seconds:.0f}s"
            )
            sys.stdout.flush()  # one line per run, visible at once through a pipe
        if args.report:
            report = write_report(result, _report_dir(args, seed))
            if args.repeat == 1:
                console.print(f"report: {report}")
        if args.json and args.repeat == 1:
            write_json(result, args.json)
        results.append(result_json(result))
        runs.append(result)
    if args.record_figures:
        from paystream_ops.figures.record import record_lab

        record_lab(runs)
    if args.repeat > 1:
        matched = sum(1 for r in results if r["matched_expectation"])
        console.print(
            f"{scenario.name}: {matched} of {args.repeat} runs gave the expected verdict "
            f"({scenario.expect.for_overlay(args.overlay).verdict})"
        )
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(
                json.dumps(
                    {"scenario": scenario.name, "runs": results, "matched": matched}, indent=2
                )
                + "\n"
            )
    sys.stdout.flush()
    return 0 if all_matched else 1
