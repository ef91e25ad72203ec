"""Domain code does not import the web framework: read from the source's import graph.

Every module of the domain packages, and every ``api`` module they import in turn, is
read with ``ast`` (imports under ``if TYPE_CHECKING:`` left out, as they never run):
none may import FastAPI or Starlette, nor one of the HTTP-facing modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import api

SOURCE = Path(api.__file__).parent
DOMAIN_PACKAGES = ("workflows", "access", "intake", "webhooks")
DOMAIN_MODULES = ("api.services", "api.reporting")
FRAMEWORKS = ("fastapi", "starlette")
HTTP_FACING = (
    "api.routes",
    "api.deps",
    "api.main",
    "api.correlation",
    "api.unavailable",
    "api.security_headers",
)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_nodes(tree: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    pending = list(ast.iter_child_nodes(tree))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
            continue
        found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def imports_of(source: str) -> set[str]:
    """The modules a module's source imports when it runs (``from x import y`` gives
    both ``x`` and ``x.y``, since ``y`` may be a module)."""
    names: set[str] = set()
    for node in _run_time_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _file_of(module: str) -> Path | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (SOURCE / relative.with_suffix(".py"), SOURCE / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _domain_modules() -> list[str]:
    modules = list(DOMAIN_MODULES)
    for package in DOMAIN_PACKAGES:
        modules += [f"api.{package}.{path.stem}" for path in (SOURCE / package).glob("*.py")]
    return sorted(modules)


def _is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def violations(roots: list[str]) -> list[str]:
    """Each ``importer -> imported`` edge, reachable from ``roots``, that reaches the web."""
    found: list[str] = []
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        module = pending.pop()
        path = _file_of(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        for name in imports_of(path.read_text()):
            if _is_under(name, FRAMEWORKS) or _is_under(name, HTTP_FACING):
                found.append(f"{module} -> {name}")
            elif name.startswith("api."):
                pending.append(name)
    return sorted(found)


def test_the_domain_modules_reach_neither_fastapi_starlette_nor_the_routes() -> None:
    roots = _domain_modules()
    assert "api.workflows.submit" in roots
    assert "api.access.gate" in roots
    assert violations(roots) == []


def test_the_check_sees_an_import_of_the_framework() -> None:
    assert "fastapi.responses" in imports_of("from fastapi.responses import JSONResponse")
    assert "starlette" in imports_of("import starlette")
    assert imports_of("if TYPE_CHECKING:\n    from starlette.types import Scope\n") == set()
    # The HTTP-facing modules themselves do import it, and are found doing so.
    assert any(edge.startswith("api.deps -> fastapi") for edge in violations(["api.deps"]))
    assert "api.main -> api.routes" in violations(["api.main"])
