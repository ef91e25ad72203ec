"""What the figures were measured on: cores, memory, load, and every version involved."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import celery
import psutil
import psycopg
from kombu import Connection


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _rabbitmq_version(amqp_url: str) -> str:
    with Connection(amqp_url, connect_timeout=10) as connection:
        connection.ensure_connection(max_retries=3)
        version = connection.connection.server_properties.get("version", "unknown")
    return version.decode() if isinstance(version, bytes) else str(version)


def _postgresql_version(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "unknown"


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def describe(amqp_url: str, database_url: str) -> dict[str, Any]:
    """The machine and the versions of Python, Celery, RabbitMQ and PostgreSQL."""
    return {
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "celery": celery.__version__,
        "rabbitmq": _rabbitmq_version(amqp_url),
        "postgresql": _postgresql_version(database_url),
        "load_average_at_start": load_average(),
    }
