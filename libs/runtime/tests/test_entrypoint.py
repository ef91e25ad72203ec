"""switchyard_runtime.entrypoint: a worker serving metrics is given the settings that say where."""

from __future__ import annotations

import pytest
from celery import Celery

from switchyard_runtime.entrypoint import worker_app
from switchyard_runtime.settings import PlatformSettings


def test_metrics_need_worker_settings() -> None:
    registered: list[Celery] = []

    def register(app: Celery, settings: PlatformSettings) -> None:
        registered.append(app)

    with pytest.raises(TypeError, match="unit-worker: metrics need WorkerSettings"):
        worker_app("unit-worker", PlatformSettings(), register)
    (app,) = registered
    assert app.main == "unit-worker"
    app.close()
