"""The published views' declaration and the guard's rules, without a database."""

from __future__ import annotations

from pathlib import Path

from contracts import views
from contracts.views import VIEWS, View

REPORTS = (("id", "uuid"), ("tenant", "text"), ("size", "bigint"))
V1 = View("report_worker", "reports_v1", ("api",))


def test_the_declaration_is_versioned_names_in_service_schemas_read_by_others() -> None:
    assert views.declaration_problems() == []
    assert views.declaration_problems([View("report_worker", "reports", ("api",))]) == [
        "report_worker.reports: a published view is named <name>_v<N>"
    ]
    assert views.declaration_problems([View("report_worker", "r_v1", ("report_worker",))]) == [
        "report_worker.r_v1: 'report_worker' is not another service's role"
    ]


def test_every_declared_view_has_a_committed_snapshot_and_no_other_is_committed() -> None:
    assert set(views.load_view_snapshots()) == {view.qualified for view in VIEWS}


def test_unchanged_views_pass() -> None:
    live = {V1.qualified: REPORTS}
    assert views.view_problems([V1], live, live) == ([], [])


def test_a_changed_version_fails_and_says_to_add_the_next_one() -> None:
    for changed in (
        REPORTS[:2],  # a column dropped
        (*REPORTS, ("sha256", "text")),  # one added
        (("id", "uuid"), ("owner", "text"), ("size", "bigint")),  # renamed
        (("id", "uuid"), ("tenant", "text"), ("size", "integer")),  # retyped
        (REPORTS[1], REPORTS[0], REPORTS[2]),  # reordered
    ):
        breaking, _ = views.view_problems([V1], {V1.qualified: REPORTS}, {V1.qualified: changed})
        assert len(breaking) == 1, changed
        assert "add report_worker.reports_v2 beside it" in breaking[0]


def test_a_new_version_beside_the_old_one_is_only_unrecorded() -> None:
    v2 = View("report_worker", "reports_v2", ("api",))
    live = {V1.qualified: REPORTS, v2.qualified: (*REPORTS, ("sha256", "text"))}
    breaking, unrecorded = views.view_problems([V1, v2], {V1.qualified: REPORTS}, live)
    assert breaking == []
    assert unrecorded == ["report_worker.reports_v2: a new version, not yet snapshotted"]


def test_an_undeclared_view_and_a_declared_one_never_created_fail() -> None:
    live = {V1.qualified: REPORTS, "api.secret_v1": (("key_hash", "text"),)}
    breaking, _ = views.view_problems([V1, View("api", "gone_v1", ("report_worker",))], {}, live)
    assert [problem.split(":")[0] for problem in breaking] == ["api.gone_v1", "api.secret_v1"]


def test_dropping_a_version_nobody_declares_any_more_is_recorded_by_update(
    tmp_path: Path,
) -> None:
    _, unrecorded = views.view_problems([], {V1.qualified: REPORTS}, {})
    assert unrecorded == [f"{V1.qualified}: dropped and no longer declared; remove its snapshot"]
    views.write_view_snapshots([V1], {V1.qualified: REPORTS}, tmp_path)
    assert views.load_view_snapshots(tmp_path) == {V1.qualified: REPORTS}
    assert views.stale_view_snapshots([V1], {V1.qualified: REPORTS}, tmp_path) == []
    wider = View("report_worker", "reports_v1", ("api", "email_worker"))
    assert views.stale_view_snapshots([wider], {V1.qualified: REPORTS}, tmp_path) == [V1.qualified]
    views.write_view_snapshots([], {}, tmp_path)
    assert views.load_view_snapshots(tmp_path) == {}


def test_next_version() -> None:
    assert views.next_version("api.workflows_v1") == "api.workflows_v2"
    assert views.next_version("report_worker.report_content_v9") == (
        "report_worker.report_content_v10"
    )
