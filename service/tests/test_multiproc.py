from __future__ import annotations

import os
from pathlib import Path

import pytest
from paystream_auth.multiproc import (
    MARKER,
    compact_dead_workers,
    granian_worker_count,
    prepare_directory,
    process_identity,
)
from prometheus_client import CollectorRegistry
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector


def test_a_new_instance_wipes_what_an_old_one_left(tmp_path: Path) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "paystream-faults-override.json").write_text("{}")
    assert prepare_directory(tmp_path, "1:100") is True
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == []
    assert (tmp_path / MARKER).read_text() == "1:100"


def test_workers_of_the_same_instance_keep_every_file(tmp_path: Path) -> None:
    prepare_directory(tmp_path, "1:100")
    (tmp_path / f"counter_{os.getpid()}.db").write_bytes(b"a live worker's")
    assert prepare_directory(tmp_path, "1:100") is False
    assert (tmp_path / f"counter_{os.getpid()}.db").exists()


DEAD = 2**22 + 17  # above the default pid_max: never a live process


def write_worker(directory: Path, pid: int, requests: float, seconds: float) -> None:
    """The files one worker of the service would leave: a counter, a histogram, two gauges."""
    values = {
        f"counter_{pid}.db": [
            (mmap_key("req", "req_total", ["network"], ["visa"], "h"), requests),
        ],
        f"histogram_{pid}.db": [
            # Buckets as a worker writes them: not cumulative (every request under 0.1 s).
            (mmap_key("lat", "lat_bucket", ["le"], ["0.1"], "h"), requests),
            (mmap_key("lat", "lat_bucket", ["le"], ["+Inf"], "h"), 0.0),
            (mmap_key("lat", "lat_sum", [], [], "h"), seconds),
        ],
        f"gauge_max_{pid}.db": [(mmap_key("info", "info", ["v"], ["1"], "h"), 1.0)],
        f"gauge_livemax_{pid}.db": [(mmap_key("state", "state", [], [], "h"), 2.0)],
    }
    for name, entries in values.items():
        out = MmapedDict(str(directory / name))
        for key, value in entries:
            out.write_value(key, value, 0.0)
        out.close()


def exposition(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
    }


def test_dead_workers_files_are_merged_and_every_count_kept(tmp_path: Path) -> None:
    prepare_directory(tmp_path, "1:100")
    for crash in range(40):
        write_worker(tmp_path, DEAD + crash, requests=10.0, seconds=0.5)
    write_worker(tmp_path, os.getpid(), requests=1.0, seconds=0.1)
    before = exposition(tmp_path)
    assert prepare_directory(tmp_path, "1:100") is False
    after = exposition(tmp_path)
    assert after[("req_total", (("network", "visa"),))] == 401.0
    assert after[("lat_count", ())] == 401.0
    assert after[("lat_sum", ())] == pytest.approx(20.1)
    assert after[("info", (("v", "1"),))] == 1.0
    # Only the live gauges of the dead are gone (they stop counting in `max` when a worker dies).
    assert {k: v for k, v in before.items() if k[0] != "state"} == {
        k: v for k, v in after.items() if k[0] != "state"
    }
    names = sorted(p.name for p in tmp_path.glob("*.db"))
    assert names == sorted(
        [
            "counter_archive.db",
            "histogram_archive.db",
            "gauge_max_archive.db",
            f"counter_{os.getpid()}.db",
            f"histogram_{os.getpid()}.db",
            f"gauge_max_{os.getpid()}.db",
            f"gauge_livemax_{os.getpid()}.db",
        ]
    ), names


def test_later_crashes_add_to_the_archive(tmp_path: Path) -> None:
    prepare_directory(tmp_path, "1:100")
    write_worker(tmp_path, DEAD, requests=3.0, seconds=0.3)
    prepare_directory(tmp_path, "1:100")
    write_worker(tmp_path, DEAD + 1, requests=4.0, seconds=0.4)
    assert compact_dead_workers(tmp_path) == 3  # counter, histogram, max gauge (live: dropped)
    assert exposition(tmp_path)[("req_total", (("network", "visa"),))] == 7.0
    assert compact_dead_workers(tmp_path) == 0


def test_a_half_written_file_of_a_dead_worker_is_left_alone(tmp_path: Path) -> None:
    prepare_directory(tmp_path, "1:100")
    (tmp_path / f"counter_{DEAD}.db").write_bytes(b"\xff\xff\xff\x7f garbage")
    assert compact_dead_workers(tmp_path) == 0
    assert (tmp_path / f"counter_{DEAD}.db").exists()


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
