"""prometheus-client multiprocess mode: prepare the shared directory once per granian instance.

granian forks its workers from a main process that never imports the app, so there is no hook
that runs once before the workers. Each worker therefore calls `prepare_directory` before it
creates a metric: under an exclusive lock it compares the directory's instance marker with the
identity of its parent (the granian main process: PID plus start time). The first worker of a
new instance wipes what an earlier instance left behind (an emptyDir survives a container
restart; stale files made scrapes 15x slower) and writes the marker; later workers and respawned
workers of the same instance find the marker and keep every count, so counters never go down.

A respawned worker also compacts the files its dead predecessors left (each crash added a file
per metric type, and every scrape reads them all): their values are merged into one archive file
per type (counters and histograms summed, `max` gauges maxed; `live*` gauges of the dead are
dropped), under the same lock that scrapes take shared, so a scrape never sees a value twice or a
file vanish under it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final, Protocol

from prometheus_client import multiprocess
from prometheus_client.mmap_dict import MmapedDict


class _ValueFile(Protocol):
    def write_value(self, key: str, value: float, timestamp: float) -> None: ...
    def close(self) -> None: ...


# prometheus-client ships no annotations for these; give them their real signatures.
_mark_process_dead: Callable[[int, str], None] = multiprocess.mark_process_dead
_open_values: Callable[[str], _ValueFile] = MmapedDict
_read_values: Callable[[str], Iterable[tuple[str, float, float, int]]] = (
    MmapedDict.read_all_values_from_file
)

MARKER: Final = ".paystream-instance"
LOCK: Final = ".paystream-lock"
# Stands where a worker's PID is in a file name: `counter_archive.db` holds dead workers' counts.
ARCHIVE: Final = "archive"
_MERGE: Final[dict[str, Callable[[float, float], float]]] = {
    "counter": lambda a, b: a + b,
    "histogram": lambda a, b: a + b,
    "summary": lambda a, b: a + b,
    "gauge_max": max,
    "gauge_min": min,
    "gauge_sum": lambda a, b: a + b,
}


def process_identity(pid: int) -> str:
    """`pid:starttime` (ticks since boot): a reused PID never looks like the same process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        start_ticks = stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        start_ticks = "?"
    return f"{pid}:{start_ticks}"


def _pid_of(db_file: Path) -> int | None:
    stem = db_file.stem
    tail = stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_directory(path: Path, instance: str) -> bool:
    """Create the directory, wipe it for a new instance, clean dead workers' live gauges.

    Returns True when this call wiped the directory (first worker of a new instance).
    """
    path.mkdir(parents=True, exist_ok=True)
    with (path / LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            marker = path / MARKER
            current = marker.read_text() if marker.exists() else ""
            if current != instance:
                for entry in path.iterdir():
                    if entry.name not in (LOCK,) and entry.is_file():
                        entry.unlink(missing_ok=True)
                tmp = path / f"{MARKER}.tmp"
                tmp.write_text(instance)
                tmp.replace(marker)
                return True
            for db_file in path.glob("gauge_live*.db"):
                pid = _pid_of(db_file)
                if pid is not None and not _alive(pid):
                    _mark_process_dead(pid, str(path))
            compact_dead_workers(path)
            return False
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _archive_kind(db_file: Path) -> str | None:
    """`counter`, `histogram`, `gauge_max`...: how a dead worker's file merges, None: it cannot."""
    parts = db_file.stem.split("_")
    kind = "_".join(parts[:2]) if parts[0] == "gauge" else parts[0]
    return kind if kind in _MERGE else None


def _readable(db_file: Path) -> bool:
    """A file a crash left half-written stays as it is (scrapes report it, as before)."""
    try:
        for _ in _read_values(str(db_file)):
            pass
    except (OSError, ValueError, UnicodeDecodeError, struct.error):
        return False
    return True


def compact_dead_workers(path: Path) -> int:
    """Merge dead workers' files into one archive file per kind; the caller holds the lock.

    Returns how many files were merged. The merged archive replaces the old one by rename, then
    the merged files are removed.
    """
    groups: dict[str, list[Path]] = {}
    for db_file in sorted(path.glob("*.db")):
        pid = _pid_of(db_file)
        kind = _archive_kind(db_file)
        if pid is None or kind is None or _alive(pid):
            continue
        groups.setdefault(kind, []).append(db_file)
    for kind, files in groups.items():
        archive = path / f"{kind}_{ARCHIVE}.db"
        merged: dict[str, tuple[float, float]] = {}
        readable = [f for f in files if _readable(f)]
        files[:] = readable
        for source in ([archive] if archive.exists() else []) + readable:
            for key, value, timestamp, _ in _read_values(str(source)):
                if key in merged:
                    value = _MERGE[kind](merged[key][0], value)
                    timestamp = max(timestamp, merged[key][1])
                merged[key] = (value, timestamp)
        tmp = path / f".{kind}_{ARCHIVE}.tmp"
        tmp.unlink(missing_ok=True)
        out = _open_values(str(tmp))
        try:
            for key, (value, timestamp) in merged.items():
                out.write_value(key, value, timestamp)
        finally:
            out.close()
        tmp.replace(archive)
        for db_file in files:
            db_file.unlink(missing_ok=True)
    return sum(len(files) for files in groups.values())


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    """Hold the directory's lock shared while a scrape reads it (compaction holds it exclusive)."""
    with (path / LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def mark_dead(path: Path, pid: int) -> None:
    """A worker leaving cleanly removes its live gauges so they stop counting in `max`."""
    with contextlib.suppress(OSError):
        _mark_process_dead(pid, str(path))


def granian_worker_count(cmdline: list[str], env: dict[str, str] | None = None) -> int | None:
    """How many workers a granian command line asks for; None when it is not granian.

    The command line wins over `GRANIAN_WORKERS`, as click does.
    """
    if not any(Path(arg).name.startswith("granian") for arg in cmdline[:3]):
        return None
    for index, arg in enumerate(cmdline):
        value: str | None = None
        if arg == "--workers" and index + 1 < len(cmdline):
            value = cmdline[index + 1]
        elif arg.startswith("--workers="):
            value = arg.split("=", 1)[1]
        if value is not None:
            return int(value) if value.isdigit() else None
    from_env = (env or {}).get("GRANIAN_WORKERS", "")
    return int(from_env) if from_env.isdigit() else 1


def parent_cmdline() -> list[str]:
    """The parent process's argv (the granian main process when a worker imports the app)."""
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
