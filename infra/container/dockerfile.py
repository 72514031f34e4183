"""The Dockerfile read as data, for the tests that check it and run its command as a process here
(Docker itself is not available on the development machines).

Enough of the syntax for this project's Dockerfile: comments, line continuations, stages,
``ENV key=value ...`` and exec-form (JSON) ``CMD``; anything else is kept as raw text.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_FROM = re.compile(r"^(?P<image>\S+)(?:\s+AS\s+(?P<name>\S+))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: RUN, COPY, ENV...
    args: str  # everything after the keyword, continuations joined


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        """The stage's ENV, in order (``$VAR`` references left as written)."""
        out: dict[str, str] = {}
        for ins in self.all("ENV"):
            for pair in shlex.split(ins.args):
                key, sep, value = pair.partition("=")
                if not sep:
                    raise ValueError(f"ENV without '=' (legacy form) is not supported: {ins.args!r}")
                out[key] = value
        return out

    def exec_form(self, keyword: str) -> list[str]:
        """The last ``CMD`` / ``ENTRYPOINT`` of the stage, which must be in exec (JSON) form."""
        found = self.all(keyword)
        if not found:
            return []
        value = json.loads(found[-1].args)
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ValueError(f"{keyword} is not in exec form: {found[-1].args!r}")
        return value


@dataclass
class Dockerfile:
    args: dict[str, str]  # ARGs before the first FROM (their defaults)
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def command(self) -> list[str]:
        """What the container runs: ENTRYPOINT + CMD of the final stage."""
        return self.final.exec_form("ENTRYPOINT") + self.final.exec_form("CMD")


def instructions(text: str) -> list[Instruction]:
    out: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):  # comments inside a continued instruction are dropped
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, args = whole.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip()))
    if pending:
        raise ValueError("the Dockerfile ends inside a continued line")
    return out


def parse(text: str) -> Dockerfile:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            m = _FROM.match(ins.args)
            if not m:
                raise ValueError(f"unreadable FROM: {ins.args!r}")
            stages.append(Stage(m["image"], m["name"] or str(len(stages))))
        elif not stages:
            if ins.keyword == "ARG":
                name, _, default = ins.args.partition("=")
                args[name] = default
        else:
            stages[-1].instructions.append(ins)
    return Dockerfile(args, stages)


def load(path: Path) -> Dockerfile:
    return parse(path.read_text(encoding="utf-8"))
