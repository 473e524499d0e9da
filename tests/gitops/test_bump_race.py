"""Two `paystream-ops bump` processes racing to push: both land, nothing is lost.

A pre-push hook in each clone holds the first push until both racers have committed on the
same base, so the race is real every time: both pushes leave with a stale parent, the server
accepts one, and the loser must fetch, re-apply and push again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BARRIER_HOOK = """#!/bin/sh
# Hold the first push of each racer until every racer has reached this point.
mark="$PAYSTREAM_BARRIER/$PAYSTREAM_RACER"
if [ ! -e "$mark" ]; then
  touch "$mark"
  i=0
  while [ "$(ls "$PAYSTREAM_BARRIER" | wc -l)" -lt 2 ] && [ "$i" -lt 400 ]; do
    sleep 0.05
    i=$((i + 1))
  done
fi
exit 0
"""


def start_bump(
    clone: Path, env: str, image: str, barrier: Path, name: str
) -> subprocess.Popen[str]:
    hook = clone / ".git" / "hooks" / "pre-push"
    hook.write_text(BARRIER_HOOK)
    hook.chmod(0o755)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paystream_ops.cli",
            "bump",
            env,
            "--image",
            image,
            "--json",
            "--repo",
            str(clone),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PAYSTREAM_BARRIER": str(barrier), "PAYSTREAM_RACER": name},
    )


def finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def race(remote, tmp_path: Path, first: tuple[str, str], second: tuple[str, str]):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    a, b = remote.clone("racer-a"), remote.clone("racer-b")
    procs = [
        start_bump(a, first[0], first[1], barrier, "a"),
        start_bump(b, second[0], second[1], barrier, "b"),
    ]
    return [finish(p) for p in procs]


def test_concurrent_bumps_of_different_environments_both_land(remote, tmp_path) -> None:
    base = remote.head()
    staging_image, prod_image = remote.ref("1.5.0", "c"), remote.ref("1.4.0", "a")

    results = race(remote, tmp_path, ("staging", staging_image), ("prod", prod_image))

    assert sorted(int(r["attempts"]) for r in results) == [1, 2]  # one of them lost the race
    commits = remote.git(remote.bare, "rev-list", f"{base}..main").split()
    assert sorted(commits) == sorted(str(r["commit"]) for r in results)
    assert remote.git(remote.bare, "rev-list", "--merges", f"{base}..main") == ""
    assert "newTag: 1.5.0" in remote.show("overlays/staging/kustomization.yaml")
    assert "digest: sha256:" + "c" * 64 in remote.show("overlays/staging/kustomization.yaml")
    assert "newTag: 1.4.0" in remote.show("overlays/prod/kustomization.yaml")
    assert "digest: sha256:" + "a" * 64 in remote.show("overlays/prod/kustomization.yaml")


def test_concurrent_bumps_of_the_same_environment_both_land_in_order(remote, tmp_path) -> None:
    base = remote.head()
    image_c, image_d = remote.ref("1.5.0", "c"), remote.ref("1.6.0", "d")

    results = race(remote, tmp_path, ("staging", image_c), ("staging", image_d))

    winner = next(r for r in results if r["attempts"] == 1)
    loser = next(r for r in results if r["attempts"] == 2)
    commits = remote.git(remote.bare, "rev-list", f"{base}..main").split()
    assert commits == [loser["commit"], winner["commit"]]  # newest first: the loser re-applied
    # The loser's commit names the winner's image as the one it replaced: nothing was lost.
    assert loser["from"] == winner["to"]
    assert winner["from"] == remote.ref("1.4.0", "a")
    final = remote.show("overlays/staging/kustomization.yaml")
    assert str(loser["to"]).split("@")[1] in final
    message = remote.git(remote.bare, "log", "-1", "--format=%B", str(loser["commit"]))
    assert f"Paystream-Image-From: {winner['to']}" in message
