"""The runtime every Switchyard service shares: what runs the contracts, not the contracts.

The Celery app factory (:mod:`~switchyard_runtime.celery_app`), the worker base task and
its result backend, poison and dead-letter handling, settings, the database engines,
migrations and roles, broker declaration, failover and grants, the console entry points,
structured logs, and metrics and tracing. Metrics need the ``metrics`` extra
(prometheus-client) and tracing the ``tracing`` extra (the OpenTelemetry SDK); without
them a service runs with metrics and tracing off.

The wire contracts themselves (task names, payloads, topology) are the ``contracts``
package, which this one depends on.
"""

from switchyard_runtime.celery_app import RESULT_EXPIRES, create_celery_app
from switchyard_runtime.settings import PlatformSettings, load_settings

__all__ = ["RESULT_EXPIRES", "PlatformSettings", "create_celery_app", "load_settings"]
