"""The package's public names: a change to ``contracts.__all__`` is a deliberate one."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import contracts

EXPECTED = {
    "BACKEND_CLEANUP",
    "CONTRACTS",
    "DEAD_LETTER_QUEUES",
    "GENERATE_REPORT",
    "SEND_EMAIL",
    "START_WORKFLOW",
    "TASK_QUEUES",
    "EmailSent",
    "GenerateReport",
    "Lane",
    "Message",
    "Period",
    "ReportAttachment",
    "ReportFormat",
    "ReportKind",
    "ReportReady",
    "SendEmail",
    "StartWorkflow",
    "TaskContract",
    "WorkflowKind",
    "WorkflowStarted",
    "contract_for",
    "dispatch",
    "route_task",
    "signature",
    "task_name_of",
}

MODULES = (
    "base",
    "compat",
    "dispatch",
    "email",
    "reports",
    "routing",
    "topology",
    "views",
    "webhooks",
    "workflows",
)


def test_all_is_exactly_the_expected_set() -> None:
    assert len(contracts.__all__) == len(set(contracts.__all__)), "duplicate in __all__"
    assert set(contracts.__all__) == EXPECTED


def test_every_public_name_is_importable() -> None:
    namespace: dict[str, object] = {}
    exec("from contracts import *", namespace)
    for name in EXPECTED:
        assert getattr(contracts, name) is not None
        assert namespace[name] is getattr(contracts, name)


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("SendEmail", "email"),
        ("GenerateReport", "reports"),
        ("StartWorkflow", "workflows"),
        ("TASK_QUEUES", "routing"),
        ("route_task", "routing"),
        ("BACKEND_CLEANUP", "workflows"),
        ("Message", "base"),
        # The function shadows its module as an attribute of the package, on purpose.
        ("dispatch", "dispatch"),
        ("signature", "dispatch"),
    ],
)
def test_public_names_are_the_defining_modules_objects(name: str, module: str) -> None:
    defining = importlib.import_module(f"contracts.{module}")
    assert getattr(contracts, name) is getattr(defining, name)


def test_public_callables_and_classes_are_documented() -> None:
    for name in EXPECTED:
        obj = getattr(contracts, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_every_module_imports_on_its_own() -> None:
    for module in MODULES:
        imported = importlib.import_module(f"contracts.{module}")
        assert imported.__doc__, f"contracts.{module} has no module docstring"


def test_no_module_imports_more_than_pydantic_and_kombu() -> None:
    # The wheel depends on pydantic and kombu alone (tests/deploy/test_contracts_wheel.py
    # installs it so); here, in a fresh interpreter, no module may load anything else that
    # a producer would then have to install.
    modules = ", ".join(f"contracts.{module}" for module in MODULES)
    code = (
        f"import sys, {modules}\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    forbidden = {
        "celery",
        "sqlalchemy",
        "psycopg",
        "alembic",
        "structlog",
        "prometheus_client",
        "opentelemetry",
        "pydantic_settings",
        "switchyard_runtime",
    }
    assert loaded & forbidden == set()
    assert {"contracts", "pydantic", "kombu"} <= loaded
