"""The README's two commands are the ones the project really runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: How both commands get uv and just: a venv of their own, filled by the system's pip, so
#: that a Python marked EXTERNALLY-MANAGED (PEP 668) does not refuse it.
BOOTSTRAP = (
    "python3 -m venv --without-pip .tools"
    " && python3 -m pip --python .tools/bin/python install uv rust-just && "
)


def fenced_command_after(heading: str) -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"## {heading}\n", 1)[1]
    match = re.search(r"```sh\n(.+?)\n```", section, re.DOTALL)
    assert match, f"no sh block under '## {heading}'"
    return match.group(1).strip()


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    command = fenced_command_after("Run the tests")
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert command in ci_lines


def test_the_readmes_commands_install_what_they_need_and_use_existing_recipes() -> None:
    justfile = (ROOT / "justfile").read_text()
    recipes = set(re.findall(r"^([a-z][\w-]*)(?:\s[^:]*)?:", justfile, re.MULTILINE))
    for heading in ("Run it", "Run the tests"):
        command = fenced_command_after(heading)
        assert command.startswith(BOOTSTRAP + ".tools/bin/just ")
        for recipe in re.findall(r"\bjust ([a-z][\w-]*)", command.removeprefix(BOOTSTRAP)):
            assert recipe in recipes, f"README runs `just {recipe}`, which the justfile lacks"
