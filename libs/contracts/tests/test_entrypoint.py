"""contracts.entrypoint: a worker that serves metrics is given the settings that say where."""

from __future__ import annotations

import pytest
from celery import Celery

from contracts import PlatformSettings
from contracts.entrypoint import worker_app


def test_metrics_need_worker_settings() -> None:
    registered: list[Celery] = []

    def register(app: Celery, settings: PlatformSettings) -> None:
        registered.append(app)

    with pytest.raises(TypeError, match="unit-worker: metrics need WorkerSettings"):
        worker_app("unit-worker", PlatformSettings(), register)
    (app,) = registered
    assert app.main == "unit-worker"
    app.close()
