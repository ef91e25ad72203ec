"""A ``report.generate`` run again (a redelivery, a twin copy) reuses the stored artifact."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from celery import Celery

from contracts import GenerateReport, Period, ReportKind, dispatch
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings, load_settings
from tests.conftest import TENANT, System

pytestmark = pytest.mark.e2e


@pytest.fixture
def producer(system: System, monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    monkeypatch.setenv("AMQP_URL", system.env["AMQP_URL"])
    monkeypatch.setenv("DATABASE_URL", system.env["DATABASE_URL"])
    app = create_celery_app("rerun-producer", load_settings(PlatformSettings))
    yield app
    app.close()


def test_three_runs_of_one_report_store_it_once(producer: Celery, system: System) -> None:
    report_id = uuid.uuid4()
    payload = GenerateReport(
        kind=ReportKind.EMAIL_ACTIVITY,
        period=Period(start=date(2026, 1, 1), end=date(2026, 1, 31)),
        tenant=TENANT,
        report_id=report_id,
    )
    # Two copies at once, then one more after both finished.
    first = [producer.AsyncResult(dispatch(producer, payload)) for _ in range(2)]
    results = [r.get(timeout=90) for r in first]
    results.append(producer.AsyncResult(dispatch(producer, payload)).get(timeout=90))

    assert {r["report_id"] for r in results} == {str(report_id)}
    assert len({r["sha256"] for r in results}) == 1
    with psycopg.connect(system.env["DATABASE_URL"]) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM report_worker.reports WHERE id = %s", (report_id,)
        ).fetchone()
    assert stored == (1,)
