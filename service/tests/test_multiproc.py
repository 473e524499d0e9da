from __future__ import annotations

import os
from pathlib import Path

import pytest
from paystream_auth.multiproc import (
    MARKER,
    granian_worker_count,
    prepare_directory,
    process_identity,
)


def test_a_new_instance_wipes_what_an_old_one_left(tmp_path: Path) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "paystream-faults-override.json").write_text("{}")
    assert prepare_directory(tmp_path, "1:100") is True
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == []
    assert (tmp_path / MARKER).read_text() == "1:100"


def test_workers_of_the_same_instance_keep_every_file(tmp_path: Path) -> None:
    prepare_directory(tmp_path, "1:100")
    (tmp_path / "counter_4242.db").write_bytes(b"worker one")
    assert prepare_directory(tmp_path, "1:100") is False
    assert (tmp_path / "counter_4242.db").exists()


def test_live_gauges_of_dead_workers_are_removed_but_their_counters_kept(tmp_path: Path) -> None:
    prepare_directory(tmp_path, "1:100")
    dead_pid = 2**22 + 17  # above the default pid_max: never a live process
    (tmp_path / f"gauge_livemax_{dead_pid}.db").write_bytes(b"x")
    (tmp_path / f"counter_{dead_pid}.db").write_bytes(b"x")
    (tmp_path / f"gauge_livemax_{os.getpid()}.db").write_bytes(b"x")
    prepare_directory(tmp_path, "1:100")
    assert not (tmp_path / f"gauge_livemax_{dead_pid}.db").exists()
    assert (tmp_path / f"counter_{dead_pid}.db").exists()
    assert (tmp_path / f"gauge_livemax_{os.getpid()}.db").exists()


def test_process_identity_includes_the_start_time() -> None:
    pid, start = process_identity(os.getpid()).split(":")
    assert pid == str(os.getpid())
    assert start.isdigit()


@pytest.mark.parametrize(
    ("cmdline", "env", "expected"),
    [
        (["/v/bin/python", "/v/bin/granian", "--workers", "4", "x:app"], {}, 4),
        (["granian", "--workers=2", "x:app"], {}, 2),
        (["granian", "--interface", "asgi", "x:app"], {}, 1),
        (["granian", "x:app"], {"GRANIAN_WORKERS": "3"}, 3),
        (["granian", "--workers", "2", "x:app"], {"GRANIAN_WORKERS": "5"}, 2),
        (["/usr/bin/python3", "-m", "pytest"], {"GRANIAN_WORKERS": "3"}, None),
        ([], {}, None),
    ],
)
def test_granian_worker_count_reads_flags_then_environment(
    cmdline: list[str], env: dict[str, str], expected: int | None
) -> None:
    assert granian_worker_count(cmdline, env) == expected
