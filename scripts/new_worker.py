"""``just new-worker <name>``: a new worker package, wired into everything a worker needs.

From ``scripts/templates/worker/`` it writes ``services/<name>/`` (pyproject, ``cli``,
``config``, ``worker``, ``tasks`` with one example task ``<domain>.<verb>``, a passing
``tests/test_tasks.py``) and the contract module ``contracts/<domain>.py`` (payload,
result, exchange ``<domain>``, queue ``<domain>.default`` with its dead letters). Then it
registers them: the contract in ``contracts.routing.CONTRACTS`` (so the topology declares
its queue), the service in ``switchyard_runtime.services.SERVICES`` (its broker grants), the
contract's snapshot (``contracts.compat --update``), a compose service with its
healthcheck and the regenerated broker definitions, the README's grants table and a
settings row, the broker password in ``.env.example``, the justfile's ``packages`` and
lint paths, the root pyproject (testpaths, mypy path, workspace sources, dev group), and
``uv.lock``. The domain is the name without ``-worker`` unless ``--domain`` says.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates" / "worker"
CONTRACTS = ROOT / "libs" / "contracts" / "src" / "contracts"
RUNTIME = ROOT / "libs" / "runtime" / "src" / "switchyard_runtime"
#: The tools of the environment running this script (the workspace's).
BIN = Path(sys.executable).parent

NAME = re.compile(r"[a-z]+(?:-[a-z]+)*")


class Refused(Exception):
    """The worker cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class Names:
    name: str  # demo-worker: package, console script, broker user, compose service
    domain: str  # demo: exchange, queue prefix, task name prefix
    verb: str  # process

    @property
    def pkg(self) -> str:
        return self.name.replace("-", "_")

    @property
    def module(self) -> str:
        return self.domain.replace("-", "_")

    @property
    def task(self) -> str:
        return f"{self.domain}.{self.verb}"

    @property
    def camel(self) -> str:
        return "".join(part.title() for part in self.domain.split("-"))

    def values(self) -> dict[str, str]:
        upper = self.pkg.upper()
        return {
            "name": self.name,
            "pkg": self.pkg,
            "prefix": self.pkg.removesuffix("_worker") or self.pkg,
            "domain": self.domain,
            "module": self.module,
            "task": self.task,
            "queue": f"{self.domain}.default",
            "const": self.verb.upper(),
            "task_const": f"{self.module.upper()}_{self.verb.upper()}",
            "verb_fn": self.verb,
            "payload": f"{self.camel}{self.verb.title()}",
            "result": f"{self.camel}{self.verb.title()}Done",
            "upper": upper,
            "env": f"RABBITMQ_{upper}_PASSWORD",
        }


def render(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    left = re.search(r"\{\{[a-z_]+\}\}", template)
    if left:
        raise AssertionError(f"template placeholder {left.group(0)} has no value")
    return template


def check(names: Names) -> None:
    for what, value in (("name", names.name), ("domain", names.domain)):
        if not NAME.fullmatch(value):
            raise Refused(f"the {what} {value!r} must be lowercase letters and single hyphens")
    if not re.fullmatch(r"[a-z]+", names.verb):
        raise Refused(f"the verb {names.verb!r} must be lowercase letters")
    if (ROOT / "services" / names.name).exists() or (ROOT / "libs" / names.name).exists():
        raise Refused(f"a package named {names.name!r} exists already: choose another name")
    if (CONTRACTS / f"{names.module}.py").exists() or (CONTRACTS / names.module).exists():
        raise Refused(f"contracts.{names.module} exists already: choose another domain (--domain)")
    if f'"{names.domain}"' in (CONTRACTS / "routing.py").read_text():
        raise Refused(f"the domain {names.domain!r} is taken")


def edit(path: Path, old: str, new: str, *, first: bool = False) -> None:
    """Replace the one ``old`` of ``path`` (the first, with ``first``) with ``new``; fails
    loudly when it moved."""
    text = path.read_text()
    if text.count(old) != 1 and not (first and old in text):
        raise AssertionError(f"{path.relative_to(ROOT)}: expected one {old!r} to edit")
    path.write_text(text.replace(old, new, 1))


def run(*argv: str | Path) -> str:
    """``argv``'s output; Python imports this checkout's contracts and runtime, whichever
    venv runs."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(CONTRACTS.parent), str(RUNTIME.parent)]),
    }
    done = subprocess.run(
        [str(a) for a in argv], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise Refused(f"{' '.join(map(str, argv))} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def write_package(names: Names, values: dict[str, str]) -> list[Path]:
    target = ROOT / "services" / names.name
    written = []
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATES)
        if relative.parent == Path():
            continue  # the contract module and compose block: see below
        path = target / Path(str(relative).removesuffix(".tmpl").replace("pkg", names.pkg, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(template.read_text(), values))
        written.append(path)
    (target / "pyproject.toml").write_text(
        render((TEMPLATES / "pyproject.toml.tmpl").read_text(), values)
    )
    contract = CONTRACTS / f"{names.module}.py"
    contract.write_text(render((TEMPLATES / "contract.py.tmpl").read_text(), values))
    return [*written, contract]


def append_to_tuple(path: Path, opening: str, item: str, closing: str = ")") -> None:
    """Append ``item`` to the one tuple (or list) of ``path`` that ``opening`` opens."""
    text = path.read_text()
    if text.count(opening) != 1:
        raise AssertionError(f"{path.relative_to(ROOT)}: expected one {opening!r} to edit")
    start = text.index(opening) + len(opening)
    end = text.index(closing, start)
    items = text[start:end].rstrip().rstrip(",")
    path.write_text(text[:start] + f"{items}, {item}" + text[start + len(items) :])


def import_module(path: Path, module: str) -> None:
    """Import ``contracts.<module>`` in ``path`` (ruff then merges it into its neighbours)."""
    edit(path, "\nfrom contracts", f"\nfrom contracts import {module}\nfrom contracts", first=True)


def register_contract(names: Names, values: dict[str, str]) -> list[Path]:
    module = names.module
    routing = CONTRACTS / "routing.py"
    import_module(routing, module)
    append_to_tuple(routing, "    for contract in (", f"{module}.{values['const']}")
    services = RUNTIME / "services.py"
    import_module(services, module)
    edit(
        services,
        "\n    )\n}\n",
        f"\n        # {names.name} (`just new-worker`): its queue, its retries.\n"
        f'        Service("{names.name}", consumes={module}.QUEUES, '
        f"publishes=({module}.EXCHANGE,), worker=True, delays=True),\n    )\n}}\n",
    )
    # A platform service: it republishes its own retries for whichever tenant they are.
    entitlements = RUNTIME / "entitlements.py"
    append_to_tuple(entitlements, "PLATFORM_USERS = (", f'"{names.name}"')
    return [routing, services, entitlements]


def write_compose_and_docs(names: Names, values: dict[str, str]) -> None:
    compose = ROOT / "docker-compose.yml"
    block = render((TEMPLATES / "compose.yml.tmpl").read_text(), values)
    edit(compose, "\n  scheduler:\n", "\n" + block + "  scheduler:\n")
    definitions = run(BIN / "python", "-m", "switchyard_runtime.grants")
    text = compose.read_text()
    start = text.index("  rabbitmq-definitions:\n    content: |\n")
    start = text.index("      {\n", start)
    end = text.index("\n      }\n", start) + len("\n      }\n")
    indented = "".join(f"      {line}\n" for line in definitions.splitlines())
    compose.write_text(text[:start] + indented + text[end:])

    readme = ROOT / "README.md"
    lines = readme.read_text().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith("| user | configures |"))
    last = first
    while last < len(lines) and lines[last].startswith("|"):
        last += 1
    lines[first:last] = [run(BIN / "python", "-m", "switchyard_runtime.grants", "--table")]
    row = next(i for i, line in enumerate(lines) if line.startswith("| `WORKER_CONCURRENCY`"))
    lines.insert(
        row,
        f"| `{values['prefix'].upper()}_QUEUES` | `{values['queue']}` | {names.name}: "
        "the queues it consumes, comma separated |\n",
    )
    readme.write_text("".join(lines))

    env = ROOT / ".env.example"
    env_lines = env.read_text().splitlines(keepends=True)
    last_password = max(
        i for i, line in enumerate(env_lines) if re.match(r"RABBITMQ_\w+_PASSWORD=", line)
    )
    env_lines.insert(last_password + 1, f"{values['env']}=change-me-{names.name}\n")
    env.write_text("".join(env_lines))


def register_in_ci(names: Names) -> None:
    justfile = ROOT / "justfile"
    text = justfile.read_text()
    packages = re.search(r'^packages := "([^"]*)"$', text, re.MULTILINE)
    if packages is None:
        raise AssertionError("justfile: no packages list")
    text = text.replace(packages.group(0), f'packages := "{packages.group(1)} {names.name}"')
    justfile.write_text(text)
    edit(
        justfile,
        "/src tests scripts bench\n",
        f"/src services/{names.name}/src tests scripts bench\n",
    )

    pyproject = ROOT / "pyproject.toml"
    edit(pyproject, ', "tests"]\n', f', "services/{names.name}/tests", "tests"]\n')
    append_to_tuple(pyproject, "mypy_path = [", f'"services/{names.name}/src"', "]")
    source = f"{names.name} = {{ workspace = true }}"
    edit(pyproject, "\n\n[dependency-groups]", f"\n{source}\n\n[dependency-groups]")
    edit(pyproject, '    "cli",\n', f'    "cli",\n    "{names.name}",\n')
    append_to_tuple(pyproject, "known-first-party = [", f'"{names.pkg}"', "]")


def create(names: Names) -> list[Path]:
    check(names)
    values = names.values()
    register_in_ci(names)  # first: ruff then knows the new package is first-party
    python = [*write_package(names, values), *register_contract(names, values)]
    ruff = BIN / "ruff"
    run(ruff, "format", "--quiet", *python)
    run(ruff, "check", "--fix", "--quiet", *python)
    run(ruff, "format", "--quiet", *python)
    run(BIN / "python", "-m", "contracts.compat", "--update")
    write_compose_and_docs(names, values)
    uv = shutil.which("uv")
    if uv is None:
        raise Refused("uv is not on PATH: run `uv lock` yourself to add the package")
    run(uv, "lock", "--quiet")
    return python


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="just new-worker", description=__doc__)
    parser.add_argument("name", help="the package, e.g. invoice-worker")
    parser.add_argument("--domain", help="the contract's domain (default: name minus -worker)")
    parser.add_argument("--verb", default="process", help="the example task's verb")
    args = parser.parse_args(argv)
    domain = args.domain or args.name.removesuffix("-worker")
    names = Names(args.name, domain, args.verb)
    try:
        create(names)
    except Refused as exc:
        sys.exit(f"new-worker: {exc}")
    print(
        f"created services/{names.name} and contracts/{names.module}.py "
        f"(task {names.task}, queue {names.domain}.default); "
        f"try: uv sync --all-packages && uv run pytest services/{names.name}/tests"
    )


if __name__ == "__main__":
    main()
