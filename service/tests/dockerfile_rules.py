"""A small Dockerfile reader and the rules this service's image must follow."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions(text: str) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped."""
    result: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        result.append(Instruction(keyword.upper(), args.strip()))
    return result


DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _resolve(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), value)


def _stages(text: str) -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for item in instructions(text):
        if item.keyword == "FROM":
            stages.append([])
        elif stages:
            stages[-1].append(item)
    return stages


def dockerfile_problems(text: str) -> list[str]:
    """Everything wrong with the service's Dockerfile against the house rules (empty when fine)."""
    problems = image_problems(text)
    stages = _stages(text)
    if not stages:
        return problems
    final = stages[-1]
    env = " ".join(item.args for item in final if item.keyword == "ENV")
    workers = re.search(r"GRANIAN_WORKERS=(\d+)", env)
    if workers is None:
        problems.append("final stage: GRANIAN_WORKERS must be set (the worker count is a choice)")
    elif int(workers.group(1)) > 1 and not re.search(r"PROMETHEUS_MULTIPROC_DIR=/tmp/\S+", env):
        problems.append(
            "final stage: several workers need PROMETHEUS_MULTIPROC_DIR under /tmp (emptyDir)"
        )
    argv = start_command(text)
    if argv is not None:
        if argv[:1] != ["granian"] or "paystream_auth.app:app" not in argv:
            problems.append("final stage: must start `granian ... paystream_auth.app:app`")
        elif "--port" not in argv or argv[argv.index("--port") + 1] != "8080":
            problems.append("final stage: must listen on port 8080")
    return problems


def image_problems(text: str) -> list[str]:
    """The rules every image of this repository follows (the service's and synthetic load's):
    base pinned by digest with a version tag, multi-stage, numeric non-root user, no bytecode
    writes, exec-form start, installed from the lock."""
    problems: list[str] = []
    items = instructions(text)
    args: dict[str, str] = {}
    stages: list[list[Instruction]] = []
    names: set[str] = set()
    for item in items:
        if item.keyword == "ARG" and not stages and "=" in item.args:
            name, _, value = item.args.partition("=")
            args[name] = value
        if item.keyword == "FROM":
            parts = _resolve(item.args, args).split()
            image = parts[0]
            if image not in names:
                if not DIGEST.search(image):
                    problems.append(f"FROM {image}: not pinned by digest")
                if image.split("@")[0].endswith(":latest") or ":" not in image.split("@")[0]:
                    problems.append(f"FROM {image}: needs an explicit version tag")
            if len(parts) == 3 and parts[1].upper() == "AS":
                names.add(parts[2])
            stages.append([])
        elif stages:
            stages[-1].append(item)
    if len(stages) < 2:
        problems.append("not a multi-stage build")
    if not stages:
        return problems
    final = stages[-1]
    users = [item.args for item in final if item.keyword == "USER"]
    if not users:
        problems.append("final stage: no USER (would run as root)")
    else:
        uid, _, gid = users[-1].partition(":")
        if not uid.isdigit() or int(uid) == 0 or (gid and (not gid.isdigit() or int(gid) == 0)):
            problems.append(f"final stage: USER {users[-1]} is not a numeric non-root user")
    env = " ".join(item.args for item in final if item.keyword == "ENV")
    if "PYTHONDONTWRITEBYTECODE=1" not in env:
        problems.append("final stage: PYTHONDONTWRITEBYTECODE=1 missing (read-only root fs)")
    starts = [item for item in final if item.keyword in ("ENTRYPOINT", "CMD")]
    if not starts:
        problems.append("final stage: no ENTRYPOINT/CMD")
    else:
        try:
            argv = json.loads(starts[-1].args)
        except json.JSONDecodeError:
            argv = None
        if not isinstance(argv, list):
            problems.append("final stage: start command must be exec form (signals reach PID 1)")
    for stage in stages:
        for item in stage:
            if item.keyword == "RUN" and re.search(r"pip install (?!.*==)", item.args):
                problems.append(f"RUN {item.args}: unpinned pip install")
    if not any("uv sync --frozen" in item.args for stage in stages for item in stage):
        problems.append("no `uv sync --frozen`: the image must install from the lock")
    return problems


def start_command(text: str) -> list[str] | None:
    """The final stage's exec-form ENTRYPOINT (or CMD), or None when there is none."""
    final: list[Instruction] = []
    for item in instructions(text):
        if item.keyword == "FROM":
            final = []
        elif item.keyword in ("ENTRYPOINT", "CMD"):
            final.append(item)
    if not final:
        return None
    try:
        argv = json.loads(final[-1].args)
    except json.JSONDecodeError:
        return None
    return [str(arg) for arg in argv] if isinstance(argv, list) else None


def copy_sources(text: str) -> list[str]:
    """Source paths of COPY instructions that read the build context (not --from=stage)."""
    sources: list[str] = []
    for item in instructions(text):
        if item.keyword != "COPY" or "--from=" in item.args:
            continue
        parts = [part for part in item.args.split() if not part.startswith("--")]
        sources.extend(parts[:-1])
    return sources


def _segments_match(path: list[str], pattern: list[str]) -> bool:
    if not pattern:
        return not path
    if pattern[0] == "**":
        return any(_segments_match(path[i:], pattern[1:]) for i in range(len(path) + 1))
    return (
        bool(path)
        and fnmatch.fnmatchcase(path[0], pattern[0])
        and _segments_match(path[1:], pattern[1:])
    )


def ignored(path: str, rules: list[str]) -> bool:
    """Docker's semantics: the last matching rule wins; a rule on a directory covers its tree."""
    parts = path.strip("/").split("/")
    result = False
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule[1:] if negate else rule
        pattern_parts = pattern.strip("/").split("/")
        if any(_segments_match(parts[:n], pattern_parts) for n in range(1, len(parts) + 1)):
            result = not negate
    return result


def ignore_rules(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
