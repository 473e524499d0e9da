"""A thin adapter over the `git` command line: every call is one subprocess, errors are one line."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from paystream_ops.errors import UserError


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def reason(self) -> str:
        lines = [line.strip() for line in self.stderr.strip().splitlines() if line.strip()]
        return " ".join(lines[-2:]) if lines else f"exit code {self.returncode}"


@dataclass(frozen=True)
class Git:
    """Run git in one working tree. `C` is that tree (or any directory inside it)."""

    cwd: Path

    def _env(self) -> dict[str, str]:
        # C locale: messages we match on stay English; no prompt: CI must never hang on one.
        return {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}

    def run(self, *args: str, check: bool = True, input_text: str | None = None) -> GitResult:
        git = shutil.which("git")
        if git is None:
            raise UserError("git not found on PATH")
        proc = subprocess.run(
            [git, *args],
            cwd=self.cwd,
            capture_output=True,
            text=True,
            check=False,
            env=self._env(),
            input=input_text,
        )
        result = GitResult(proc.returncode, proc.stdout, proc.stderr)
        if check and not result.ok:
            raise UserError(f"git {' '.join(args[:3])}: {result.reason()}")
        return result

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    # -- queries -------------------------------------------------------------------------------
    def toplevel(self) -> Path:
        result = self.run("rev-parse", "--show-toplevel", check=False)
        if not result.ok:
            raise UserError(f"{self.cwd}: not a git repository")
        return Path(result.stdout.strip())

    def rev(self, ref: str) -> str:
        result = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if not result.ok:
            raise UserError(f"{ref!r}: no such commit in {self.cwd}")
        return result.stdout.strip()

    def current_branch(self) -> str | None:
        result = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return result.stdout.strip() if result.ok else None

    def show(self, rev: str, path: str) -> str | None:
        """A file's content at a commit, or None when the file does not exist there."""
        result = self.run("show", f"{rev}:{path}", check=False)
        return result.stdout if result.ok else None

    def dirty_tracked(self) -> list[str]:
        out = self.run("status", "--porcelain", "--untracked-files=no").stdout
        return [line[3:] for line in out.splitlines() if line.strip()]

    def parents(self, rev: str) -> list[str]:
        return self.out("rev-list", "--parents", "-n", "1", rev).split()[1:]

    def message(self, rev: str) -> str:
        return self.run("log", "-1", "--format=%B", rev).stdout

    def commit_time(self, rev: str) -> int:
        return int(self.out("log", "-1", "--format=%ct", rev))

    def branch_exists(self, branch: str) -> bool:
        return self.run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).ok

    def remote_branch_exists(self, remote: str, branch: str) -> bool:
        out = self.run("ls-remote", "--heads", remote, f"refs/heads/{branch}").stdout
        return bool(out.strip())

    # -- changes -------------------------------------------------------------------------------
    def commit_paths(self, paths: Sequence[str], message: str) -> str:
        self.run("add", "--", *paths)
        self.run("commit", "--quiet", "--file=-", "--", *paths, input_text=message)
        return self.out("rev-parse", "HEAD")

    def fetch(self, remote: str, branch: str) -> None:
        self.run("fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")

    def push(self, remote: str, src: str, branch: str) -> GitResult:
        return self.run("push", "--porcelain", remote, f"{src}:refs/heads/{branch}", check=False)


def push_or_take_theirs(
    git: Git,
    remote: str,
    branch: str,
    commit: str,
    attempt: int,
    max_attempts: int,
    sleep: Callable[[float], None],
) -> bool:
    """Push `commit` (HEAD, one commit on top of the remote's branch): True once pushed.

    False when someone pushed first: our commit is dropped and HEAD is reset to theirs, after a
    short random pause, so the caller re-applies its change on top and calls again. Refused
    (the remote did not move: permissions, protection), rejected `max_attempts` times, or HEAD
    moved under us: a one-line UserError, and nothing was pushed.
    """
    result = git.push(remote, "HEAD", branch)
    if result.ok:
        return True
    if git.rev("HEAD") != commit:
        raise UserError(f"{git.cwd}: HEAD moved during the push; nothing was pushed")
    git.run("reset", "--quiet", "--hard", "HEAD~1")
    if attempt >= max_attempts:
        raise UserError(
            f"git push {remote} {branch}: rejected {attempt} times ({result.reason()}); "
            "nothing was pushed"
        )
    before = git.rev("HEAD")
    upstream = f"refs/remotes/{remote}/{branch}"
    git.fetch(remote, branch)
    if git.rev(upstream) == before:
        raise UserError(f"git push {remote} {branch}: {result.reason()}; nothing was pushed")
    git.run("reset", "--quiet", "--hard", upstream)
    sleep(random.uniform(0.02, 0.1) * attempt)
    return False


@contextlib.contextmanager
def worktree(git: Git, rev: str, prefix: str = "paystream-wt-") -> Iterator[Path]:
    """A detached, throw-away checkout of `rev`; the user's own checkout is never touched."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    path = tmp / "tree"
    git.run("worktree", "add", "--quiet", "--detach", str(path), rev)
    try:
        yield path
    finally:
        git.run("worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        git.run("worktree", "prune", check=False)
