"""OpenTelemetry tracing, off unless an OTLP endpoint is configured.

With neither ``OTEL_EXPORTER_OTLP_ENDPOINT`` nor ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
set (or with ``OTEL_SDK_DISABLED=true``) nothing here imports the SDK, installs a
provider or opens a connection. When one is set, spans go over OTLP/HTTP in batches; the
standard ``OTEL_*`` variables (service name, headers, sampler) apply as usual. Without
the runtime's ``tracing`` extra an endpoint turns nothing on: one warning says so.

A producer puts the current trace context into a task's headers (:func:`inject_into`),
which the worker's Celery instrumentation reads back, so a worker's span continues the
HTTP request's trace even though the message left through the outbox later.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

_provider: Any = None


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether an OTLP endpoint is configured (and the SDK is not disabled)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def installed() -> bool:
    """Whether the ``tracing`` extra (the OpenTelemetry SDK, exporter, instrumentation) is."""
    modules = (
        "opentelemetry.sdk",
        "opentelemetry.exporter.otlp.proto.http",
        "opentelemetry.instrumentation.celery",
    )
    try:
        return all(importlib.util.find_spec(module) is not None for module in modules)
    except ModuleNotFoundError:  # a parent package is missing
        return False


_warned = False


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        structlog.get_logger("switchyard_runtime.tracing").warning(
            "tracing off: an OTLP endpoint is set but the runtime's tracing extra is not"
            " installed (runtime[tracing])"
        )


def configure_tracing(service: str) -> bool:
    """Install a tracer provider exporting to the configured OTLP endpoint.

    Returns whether tracing is on. Idempotent within a process; call it in every process
    that creates spans (for prefork workers: in each child, after the fork).
    """
    global _provider
    if not enabled():
        return False
    if _provider is not None:
        return True
    if not installed():
        _warn_once()
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # An operator's OTEL_SERVICE_NAME wins over the service's own name.
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return True


def instrument_celery() -> None:
    """Trace every task this process runs (and the tasks it publishes)."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def shutdown() -> None:
    """Export what is buffered and stop (a process that traced is about to exit)."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def inject_into(headers: MutableMapping[str, Any]) -> None:
    """Add the current trace context (``traceparent``) to task headers, when tracing."""
    if _provider is None:
        return
    from opentelemetry.propagate import inject

    inject(headers)
