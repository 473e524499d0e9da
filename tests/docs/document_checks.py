"""The checkers behind tests/docs: what a Markdown document shows (commands, repository paths,
links, sections, excerpts) parsed the way GitHub renders it, and checked against the checkout.

Pure over a parsed `Document` except where a check must ask the repository: `make -qp` for the
targets, `git ls-files` for the paths, `paystream-ops ... --help` for the commands.
"""

from __future__ import annotations

import argparse
import functools
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from paystream_ops.cli import build_parser

REPO = Path(__file__).resolve().parents[2]

# Programs a test cannot run, each with the reason. Anything else in a shell block must be
# checkable (make, paystream-ops, uv run of those) or the test fails: add it here, with a reason.
SKIPPED_PROGRAMS: dict[str, str] = {
    "kubectl": "needs a Kubernetes cluster (and the argo rollouts plugin)",
    "bao": "needs a running, unsealed OpenBao or Vault",
    "git": "changes history or needs the remote",
    "docker": "needs a container engine",
    "export": "only sets shell variables",
}
# Inline code is a command only when it starts with one of these (after `uv run`).
INLINE_PROGRAMS = frozenset({"make", "paystream-ops"})
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console", "zsh"})
# `uv run` options that take a value (the rest are flags).
UV_RUN_VALUE_OPTIONS = frozenset({"--package", "--with", "--python", "-p", "--extra", "--group"})

FENCE_OPEN = re.compile(r"^ {0,3}(?P<marker>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
CODE_SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?P<code>.+?)(?<!`)(?P=ticks)(?!`)", re.S)
LINK_TARGET = re.compile(r"\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
QUOTED_SECTION = re.compile(r"(?P<file>[\w./-]+\.md),?\s+\"(?P<section>[^\"]+)\"")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(?P<text>.*?)(?:\s+#+)?\s*$")
EXCERPT_INTRO = re.compile(r"^Excerpt from \[?`(?P<path>[^`]+)`")
PLACEHOLDER = re.compile(r"<[^<>]*>")
UPPERCASE_SEGMENT = re.compile(r"[A-Z][A-Z0-9_]*")
PATH_TOKEN = re.compile(r"[\w.<>{},*-]+(?:/[\w.<>{},*-]*)*")
BARE_FILE = re.compile(r"[a-z0-9][\w.-]*\.(?:ya?ml|md|py|json|toml|env|png|lock|txt)")
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")
SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")


# --- Markdown ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fence:
    info: str
    open_line: int  # 1-based line of the opening marker
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    name: str
    base: Path  # where its relative links and paths start
    prose: tuple[str, ...]  # every line of the file, fenced ones blanked
    fences: tuple[Fence, ...]


def parse_markdown(name: str, text: str, base: Path = REPO) -> Document:
    prose: list[str] = []
    fences: list[Fence] = []
    marker: str | None = None
    info = ""
    opened = 0
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if marker is None:
            match = FENCE_OPEN.match(line)
            if match:
                marker, info, opened, body = match["marker"], match["info"].lower(), number, []
                prose.append("")
            else:
                prose.append(line)
            continue
        closing = line.strip()
        if closing and set(closing) == {marker[0]} and len(closing) >= len(marker):
            fences.append(Fence(info, opened, tuple(body)))
            marker = None
        else:
            body.append(line)
        prose.append("")
    return Document(name, base, tuple(prose), tuple(fences))


def load(name: str) -> Document:
    """A document whose relative links start from its own folder (as GitHub resolves them)."""
    path = REPO / name
    return parse_markdown(name, path.read_text(encoding="utf-8"), path.parent)


def paragraphs(doc: Document) -> Iterator[tuple[int, str]]:
    """(first line, text) of each run of non-blank prose lines."""
    start = 0
    lines: list[str] = []
    for number, line in enumerate((*doc.prose, ""), 1):
        if line.strip():
            start = start or number
            lines.append(line)
        elif lines:
            yield start, "\n".join(lines)
            start, lines = 0, []


def code_spans(doc: Document) -> Iterator[tuple[int, str]]:
    """(line, code) of each inline code span; a span may continue on the next line."""
    for start, text in paragraphs(doc):
        for match in CODE_SPAN.finditer(text):
            yield start + text.count("\n", 0, match.start()), " ".join(match["code"].split())


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but `-` and `_` dropped, spaces `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts as its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(doc: Document) -> frozenset[str]:
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in doc.prose:
        match = HEADING.match(line)
        if not match:
            continue
        anchor = slug(match["text"])
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return frozenset(found)


# --- Commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    where: str  # README.md:42
    argv: tuple[str, ...]  # the program first: leading VAR=value and `uv run ...` removed

    def __str__(self) -> str:
        return shlex.join(self.argv)


def split_pipeline(text: str) -> list[list[str]]:
    """The simple commands of one shell line: split on | || && ; & and comments dropped."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote in prose: fall back to whitespace
        tokens = text.split("#", 1)[0].split()
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token and set(token) <= set("|&;"):
            segments.append([])
        else:
            segments[-1].append(token)
    return [segment for segment in segments if segment]


def normalise(argv: Sequence[str]) -> tuple[str, ...]:
    words = list(argv)
    while words and ASSIGNMENT.fullmatch(words[0]):
        words.pop(0)
    if words[:2] == ["uv", "run"]:
        index = 2
        while index < len(words) and words[index].startswith("-"):
            index += 2 if words[index] in UV_RUN_VALUE_OPTIONS else 1
        words = words[index:]
    return tuple(words)


def shell_lines(fence: Fence) -> Iterator[tuple[int, str]]:
    """(line, command) of a shell block: continuations joined, console output left out."""
    console = fence.info == "console"
    pending, start = "", 0
    for offset, raw in enumerate(fence.lines, 1):
        line = raw.strip()
        if not pending:
            start = fence.open_line + offset
            if console:
                if not line.startswith("$ "):
                    continue
                line = line[2:]
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text, pending = pending + line, ""
        if text.strip():
            yield start, text


def extract_commands(doc: Document) -> list[Command]:
    found: list[Command] = []
    for fence in doc.fences:
        if fence.info not in SHELL_LANGUAGES:
            continue
        for line, text in shell_lines(fence):
            for segment in split_pipeline(text):
                argv = normalise(segment)
                if argv:
                    found.append(Command(f"{doc.name}:{line}", argv))
    for line, code in code_spans(doc):
        for segment in split_pipeline(code):
            argv = normalise(segment)
            if argv and argv[0] in INLINE_PROGRAMS:
                found.append(Command(f"{doc.name}:{line}", argv))
    return found


@functools.cache
def make_targets() -> frozenset[str]:
    """Every target make knows in the repository's Makefile (its database, `make -qp`)."""
    try:
        database = subprocess.run(
            ["make", "-qp"], cwd=REPO, capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except FileNotFoundError:  # no make here: read the rules
        text = (REPO / "Makefile").read_text()
        return frozenset(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", text, re.M))
    targets: set[str] = set()
    previous = ""
    for line in database.splitlines():
        match = re.match(r"([A-Za-z0-9][\w.-]*):(?!=)", line)
        if match and previous != "# Not a target:":
            targets.add(match[1])
        previous = line
    return frozenset(targets)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def options(parser: argparse.ArgumentParser) -> frozenset[str]:
    return frozenset(option for action in parser._actions for option in action.option_strings)


@functools.cache
def ops_parser() -> argparse.ArgumentParser:
    return build_parser()


def ops_executable() -> list[str]:
    """The installed `paystream-ops` of this environment (what the documents tell people to run)."""
    beside_python = Path(sys.executable).with_name("paystream-ops")
    if beside_python.is_file():
        return [str(beside_python)]
    on_path = shutil.which("paystream-ops")
    return [on_path] if on_path else [sys.executable, "-m", "paystream_ops.cli"]


def help_problem(path: tuple[str, ...]) -> str | None:
    """Run `paystream-ops PATH --help`: None when it exits 0 with that command's usage."""
    shown = " ".join(("paystream-ops", *path))
    result = subprocess.run(
        [*ops_executable(), *path, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`{shown} --help` exited {result.returncode}: {last}"
    if not result.stdout.startswith(f"usage: {shown}"):
        return f"`{shown} --help` printed another command's usage"
    return None


@dataclass
class CommandReport:
    checked: list[Command] = field(default_factory=list)
    skipped: list[tuple[Command, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    help_paths: dict[tuple[str, ...], list[Command]] = field(default_factory=dict)


def check_make(command: Command, report: CommandReport) -> None:
    for word in command.argv[1:]:
        if word.startswith("-") or "=" in word or PLACEHOLDER.fullmatch(word):
            continue
        if word not in make_targets():
            report.problems.append(f"{command.where}: `{command}`: no make target {word!r}")


def check_ops(command: Command, report: CommandReport) -> None:
    parser = ops_parser()
    path: list[str] = []
    rest = list(command.argv[1:])
    while (choices := subcommands(parser)) and rest and not rest[0].startswith("-"):
        word = rest.pop(0)
        if PLACEHOLDER.fullmatch(word):  # `paystream-ops <command>`: a mention, not a command
            return
        if word not in choices:
            known = ", ".join(sorted(choices))
            shown = " ".join(("paystream-ops", *path, word))
            report.problems.append(
                f"{command.where}: `{command}`: no such command `{shown}` (known: {known})"
            )
            return
        path.append(word)
        parser = choices[word]
    known_options = options(parser)
    for word in rest:
        name = word.split("=", 1)[0]
        if re.fullmatch(r"--[\w-]+|-[A-Za-z]", name) and name not in known_options:
            shown = " ".join(("paystream-ops", *path))
            report.problems.append(f"{command.where}: `{command}`: `{shown}` has no option {name}")
    report.help_paths.setdefault(tuple(path), []).append(command)


def check_commands(doc: Document) -> CommandReport:
    report = CommandReport()
    for command in extract_commands(doc):
        program = command.argv[0]
        if program in SKIPPED_PROGRAMS:
            report.skipped.append((command, SKIPPED_PROGRAMS[program]))
            continue
        report.checked.append(command)
        if program == "make":
            check_make(command, report)
        elif program == "paystream-ops":
            check_ops(command, report)
        else:
            report.problems.append(
                f"{command.where}: `{command}`: {program!r} is neither checkable (make, "
                "paystream-ops) nor in SKIPPED_PROGRAMS"
            )
    paths = sorted(report.help_paths)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for path, problem in zip(paths, pool.map(help_problem, paths), strict=True):
            if problem:
                where = ", ".join(command.where for command in report.help_paths[path])
                report.problems.append(f"{where}: {problem}")
    return report


# --- Paths, links and sections -----------------------------------------------------------------


@functools.cache
def repository_files() -> tuple[frozenset[str], frozenset[str]]:
    """(top-level entries, file names) of the checkout: tracked files plus new, unignored ones."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout.decode()
        files = [name for name in listing.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        files = [str(path.relative_to(REPO)) for path in REPO.rglob("*") if path.is_file()]
    return (
        frozenset(name.split("/", 1)[0] for name in files),
        frozenset(name.rsplit("/", 1)[-1] for name in files),
    )


def expand_braces(token: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", token)
    if not match:
        return [token]
    head, tail = token[: match.start()], token[match.end() :]
    return [path for part in match[1].split(",") for path in expand_braces(head + part + tail)]


def path_exists(token: str, base: Path) -> bool:
    """Placeholders (`<env>`, `ENV`, `...`) match any one name; `{a,b}` must all exist."""
    for variant in expand_braces(token.rstrip("/")):
        segments = []
        for segment in PLACEHOLDER.sub("*", variant).split("/"):
            wild = segment == "..." or UPPERCASE_SEGMENT.fullmatch(segment) is not None
            segments.append("*" if wild else segment)
        pattern = "/".join(segments)
        found = any(base.glob(pattern)) if "*" in pattern else (base / pattern).exists()
        if not found:
            return False
    return True


def named_paths(doc: Document) -> Iterator[tuple[int, str]]:
    """(line, token) of every backticked word that names a repository path or file."""
    top_level, file_names = repository_files()
    for line, code in code_spans(doc):
        for word in code.split():
            token = word.strip("\"'(),;:")
            if not PATH_TOKEN.fullmatch(token) or token.startswith(".."):
                continue
            if token.split("/", 1)[0] in top_level:
                yield line, token
            elif "/" not in token and BARE_FILE.fullmatch(token) and token not in file_names:
                yield line, token  # a file name that is nowhere in the repository


def link_problem(doc: Document, target: str) -> str | None:
    if SCHEME.match(target):
        return None  # an external link
    file_part, _, anchor = target.partition("#")
    if file_part and not path_exists(file_part, doc.base):
        return f"link to {target}: no {file_part}"
    if not anchor:
        return None
    if not file_part:
        linked = doc
    elif file_part.endswith(".md"):
        linked = parse_markdown(file_part, (doc.base / file_part).read_text(encoding="utf-8"))
    else:
        return f"link to {target}: an anchor into a file that is not markdown"
    if anchor not in anchors(linked):
        return f"link to {target}: {linked.name} has no heading with the anchor #{anchor}"
    return None


def section_problem(doc: Document, file_name: str, section: str) -> str | None:
    """A section named in prose (`DESIGN.md, "Section"`) must begin some heading of that file."""
    path = doc.base / file_name
    if not path.is_file():
        return None  # a file name in quotes, not a repository document
    wanted = slug(section)
    headings = anchors(parse_markdown(file_name, path.read_text(encoding="utf-8")))
    if any(anchor.startswith(wanted) for anchor in headings):
        return None
    return f'{file_name}, "{section}": no such section'


def check_paths(doc: Document) -> list[str]:
    problems = [  # a path in backticks is named from the repository root, wherever the page is
        f"{doc.name}:{line}: `{token}` does not exist"
        for line, token in named_paths(doc)
        if not path_exists(token, REPO)
    ]
    for start, text in paragraphs(doc):
        for match in LINK_TARGET.finditer(text):
            line = start + text.count("\n", 0, match.start())
            if problem := link_problem(doc, match["target"]):
                problems.append(f"{doc.name}:{line}: {problem}")
        flat = " ".join(text.split())
        for match in QUOTED_SECTION.finditer(flat):
            if problem := section_problem(doc, match["file"], match["section"]):
                problems.append(f"{doc.name}:{start}: {problem}")
    return problems


# --- Excerpts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Excerpt:
    line: int
    path: str
    lines: tuple[str, ...] | None  # None: no fenced block follows the intro line


def excerpts(doc: Document) -> list[Excerpt]:
    """Each `Excerpt from `path`:` line and the fenced block right below it."""
    found: list[Excerpt] = []
    for index, line in enumerate(doc.prose):
        match = EXCERPT_INTRO.match(line)
        if not match:
            continue
        number = index + 1
        after = [f for f in doc.fences if f.open_line > number]
        block = after[0] if after else None
        between = doc.prose[number : block.open_line - 1] if block else ()
        if block is None or any(text.strip() for text in between):
            found.append(Excerpt(number, match["path"], None))
        else:
            found.append(Excerpt(number, match["path"], block.lines))
    return found


def excerpt_problem(doc: Document, excerpt: Excerpt) -> str | None:
    where = f"{doc.name}:{excerpt.line}: excerpt from {excerpt.path}"
    source = REPO / excerpt.path  # named from the repository root, like every path in backticks
    if excerpt.lines is None or not any(line.strip() for line in excerpt.lines):
        return f"{where}: no fenced block follows"
    if not source.is_file():
        return f"{where}: no such file"
    wanted = [line.strip() for line in excerpt.lines]
    have = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]
    best = 0
    for start in range(len(have)):
        matched = 0
        while (
            matched < len(wanted)
            and start + matched < len(have)
            and have[start + matched] == wanted[matched]
        ):
            matched += 1
        if matched == len(wanted):
            return None
        best = max(best, matched)
    return f"{where}: not in the file verbatim from the line {wanted[best]!r} on"


def check_excerpts(doc: Document) -> list[str]:
    return [problem for e in excerpts(doc) if (problem := excerpt_problem(doc, e))]
