"""Tracing is off unless an OTLP endpoint is configured; on, it names the service."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from switchyard_runtime import tracing


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*tracing.ENDPOINT_VARIABLES, "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "false"}, True),
    ],
)
def test_enabled_only_with_an_endpoint(environ: dict[str, str], expected: bool) -> None:
    assert tracing.enabled(environ) is expected


def test_without_an_endpoint_nothing_is_installed_or_injected() -> None:
    # Runs under conftest's network guard: nothing may connect either.
    assert tracing.configure_tracing("svc") is False
    headers: dict[str, str] = {"workflow_id": "w"}
    tracing.inject_into(headers)
    assert headers == {"workflow_id": "w"}
    tracing.shutdown()


def run_python(code: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_with_an_endpoint_spans_carry_the_service_and_reach_task_headers() -> None:
    # In a process of its own: a tracer provider is installed once per process. Spans are
    # not sampled, so nothing is exported (the endpoint is a dead local port anyway).
    out = run_python(
        """
        from opentelemetry import trace
        from switchyard_runtime import tracing

        assert tracing.configure_tracing("email-worker") is True
        assert tracing.configure_tracing("email-worker") is True  # idempotent
        provider = trace.get_tracer_provider()
        print(provider.resource.attributes["service.name"])
        with trace.get_tracer("t").start_as_current_span("request"):
            headers = {"workflow_id": "w"}
            tracing.inject_into(headers)
        print(sorted(headers))
        tracing.shutdown()
        """,
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
            "OTEL_TRACES_SAMPLER": "always_off",
        },
    )
    assert out.splitlines() == ["email-worker", "['traceparent', 'workflow_id']"]


def test_an_operators_service_name_wins() -> None:
    out = run_python(
        """
        from opentelemetry import trace
        from switchyard_runtime import tracing

        tracing.configure_tracing("email-worker")
        print(trace.get_tracer_provider().resource.attributes["service.name"])
        """,
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
            "OTEL_SERVICE_NAME": "mail-eu-1",
        },
    )
    assert out.strip() == "mail-eu-1"
