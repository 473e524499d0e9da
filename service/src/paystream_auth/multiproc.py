"""prometheus-client multiprocess mode: prepare the shared directory once per granian instance.

granian forks its workers from a main process that never imports the app, so there is no hook
that runs once before the workers. Each worker therefore calls `prepare_directory` before it
creates a metric: under an exclusive lock it compares the directory's instance marker with the
identity of its parent (the granian main process: PID plus start time). The first worker of a
new instance wipes what an earlier instance left behind (an emptyDir survives a container
restart; stale files made scrapes 15x slower) and writes the marker; later workers and respawned
workers of the same instance find the marker and keep every file, so counters never go down.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

from prometheus_client import multiprocess

# prometheus-client ships no annotations for this one; give it its real signature.
_mark_process_dead: Callable[[int, str], None] = multiprocess.mark_process_dead

MARKER: Final = ".paystream-instance"
LOCK: Final = ".paystream-lock"


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
            return False
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
