"""Read a Dockerfile into stages and instructions, so tests (and people) can ask it questions.

Not a full BuildKit parser: it handles what docker/*/Dockerfile use (line continuations, comment
lines inside continuations, ``FROM ... AS name``, ``ARG name=default`` with quotes) and splits
``RUN`` shell text into simple commands, so a question like "which pip installs run in the
ACE-Step venv, in what order, with which flags" is answered from the file itself rather than from
a regex over the whole text.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from pydantic import BaseModel


class Instruction(BaseModel):
    keyword: str  # upper case: RUN, ARG, ENV, ...
    args: str  # continuation lines joined with single spaces, comment lines dropped
    lineno: int  # 1-based line where the instruction starts


class Stage(BaseModel):
    index: int
    name: str | None  # the ``AS`` name
    base: str  # the FROM image, unexpanded (e.g. ``${BASE_IMAGE}``)
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword.upper()]

    def args(self) -> dict[str, str]:
        """ARG defaults declared in this stage (an ARG without default maps to "")."""
        return _arg_defaults(self.instructions)

    def env(self) -> dict[str, str]:
        """ENV values set in this stage (``ENV A=1 B=2`` form; later ones win)."""
        out: dict[str, str] = {}
        for ins in self.all("ENV"):
            for word in shlex.split(ins.args):
                name, sep, value = word.partition("=")
                if sep:
                    out[name] = value
        return out


class Dockerfile(BaseModel):
    path: str
    global_args: dict[str, str]  # ARGs before the first FROM
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"{self.path} has no stage named {name!r}: stages are {[s.name for s in self.stages]}")

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def resolved_base(self, stage: Stage) -> str:
        """The stage's FROM with global ARG defaults substituted (what ``docker build`` uses by default)."""
        return expand(stage.base, self.global_args)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        # Docker drops comment lines and empty lines everywhere, also in the middle of a continuation
        if not stripped or stripped.startswith("#"):
            continue
        if not parts:
            start = lineno
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        out.append((start, " ".join(p for p in parts if p)))
        parts = []
    if parts:
        out.append((start, " ".join(parts)))
    return out


def _arg_defaults(instructions: list[Instruction]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword != "ARG":
            continue
        name, _, value = ins.args.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[name.strip()] = value
    return out


def parse_dockerfile(text: str, *, path: str = "Dockerfile") -> Dockerfile:
    """Split Dockerfile text into global ARGs and stages of instructions."""
    preamble: list[Instruction] = []
    stages: list[Stage] = []
    for lineno, line in _logical_lines(text):
        keyword, _, args = line.partition(" ")
        ins = Instruction(keyword=keyword.upper(), args=args.strip(), lineno=lineno)
        if ins.keyword == "FROM":
            words = ins.args.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(index=len(stages), name=name, base=words[0], instructions=[]))
        elif stages:
            stages[-1].instructions.append(ins)
        else:
            preamble.append(ins)
    if not stages:
        raise ValueError(f"{path} has no FROM instruction")
    return Dockerfile(path=path, global_args=_arg_defaults(preamble), stages=stages)


def read_dockerfile(path: Path) -> Dockerfile:
    return parse_dockerfile(path.read_text(), path=str(path))


_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def expand(text: str, values: dict[str, str]) -> str:
    """Substitute ``${NAME}`` / ``$NAME`` from ``values``; unknown names are left as written."""
    return _VAR.sub(lambda m: values.get(m[1] or m[2], m[0]), text)


def shell_commands(script: str) -> list[str]:
    """Split shell text into simple commands at ``&&``, ``||``, ``;`` and ``|`` outside quotes."""
    commands: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(script):
        ch = script[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif script.startswith(("&&", "||"), i):
            commands.append("".join(current))
            current = []
            i += 1
        elif ch in ";|":
            commands.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    commands.append("".join(current))
    return [c.strip() for c in commands if c.strip()]


class PipInstall(BaseModel):
    """One ``pip install`` command found in a RUN."""

    lineno: int  # line of the RUN
    pip: str  # the pip executable as written, e.g. /opt/venv/bin/pip
    argv: list[str]  # words after ``install`` (variables expanded where known)
    run_text: str  # the whole RUN, for error messages

    def option_values(self, *names: str) -> list[str]:
        """Values of an option given as ``--opt value`` or ``--opt=value`` (any of ``names``)."""
        out = []
        for i, word in enumerate(self.argv):
            for name in names:
                if word == name and i + 1 < len(self.argv):
                    out.append(self.argv[i + 1])
                elif word.startswith(name + "=") and name.startswith("--"):
                    out.append(word.split("=", 1)[1])
        return out

    def requirements(self) -> list[str]:
        """Positional words: requirement specifiers or paths (option values excluded)."""
        takes_value = {"-c", "--constraint", "-r", "--requirement", "-i", "--index-url", "--extra-index-url",
                       "-f", "--find-links", "-e", "--editable", "--target", "--prefix", "--report"}
        out, skip = [], False
        for word in self.argv:
            if skip:
                skip = False
                continue
            if word in takes_value:
                skip = True
                continue
            if word.startswith("-"):
                continue
            out.append(word)
        return out


def pip_installs(stage: Stage, *, values: dict[str, str] | None = None) -> list[PipInstall]:
    """Every ``pip install`` in the stage's RUNs, in order; ``values`` expands ARG references."""
    values = values if values is not None else stage.args()
    found = []
    for ins in stage.all("RUN"):
        for command in shell_commands(ins.args):
            try:
                words = shlex.split(expand(command, values))
            except ValueError:
                continue
            for i, word in enumerate(words[:-1]):
                if (word == "pip" or word.endswith("/pip")) and words[i + 1] == "install":
                    found.append(PipInstall(lineno=ins.lineno, pip=word, argv=words[i + 2 :], run_text=ins.args))
                    break
    return found
