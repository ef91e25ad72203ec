"""The package's public names: a change to ``contracts.__all__`` is a deliberate one."""

from __future__ import annotations

import importlib
import inspect

import pytest

import contracts

EXPECTED = {
    "BACKEND_CLEANUP",
    "CONTRACTS",
    "DEAD_LETTER_QUEUES",
    "GENERATE_REPORT",
    "RESULT_EXPIRES",
    "SEND_EMAIL",
    "START_WORKFLOW",
    "TASK_QUEUES",
    "EmailSent",
    "GenerateReport",
    "Lane",
    "Message",
    "Period",
    "PlatformSettings",
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
    "create_celery_app",
    "dispatch",
    "load_settings",
    "route_task",
    "signature",
    "task_name_of",
}

MODULES = (
    "base",
    "celery_app",
    "dispatch",
    "email",
    "entitlements",
    "logs",
    "metrics",
    "observability",
    "reports",
    "results",
    "routing",
    "settings",
    "topology",
    "tracing",
    "webhooks",
    "worker",
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
        ("create_celery_app", "celery_app"),
        ("PlatformSettings", "settings"),
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
