"""The baseline's worker app: ``celery -A bench.noop_worker:app worker``."""

from __future__ import annotations

from bench.baseline import create_app
from switchyard_runtime.settings import PlatformSettings, load_settings

app = create_app(load_settings(PlatformSettings))
