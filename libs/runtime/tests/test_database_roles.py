from __future__ import annotations

import pytest

from contracts.views import VIEWS
from switchyard_runtime.database_roles import (
    MIGRATOR,
    READS,
    ROLES,
    SERVICE_ROLES,
    DatabaseRoleSettings,
    grant_statements,
    role_url,
)


@pytest.mark.parametrize(
    ("url", "password", "expected"),
    [
        ("postgresql://postgres@db:5432/app", None, "postgresql://api@db:5432/app"),
        ("postgresql://admin:secret@db:5432/app", None, "postgresql://api@db:5432/app"),
        ("postgresql://admin:s@cret@db/app", "pw", "postgresql://api:pw@db/app"),
        ("postgresql://db:5432/app", "pw", "postgresql://api:pw@db:5432/app"),
    ],
)
def test_role_url_swaps_the_user_and_password(url: str, password: str, expected: str) -> None:
    assert role_url(url, "api", password) == expected


def test_passwords_are_read_per_role_and_unset_ones_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_PASSWORD_API", "a")
    monkeypatch.setenv("DATABASE_PASSWORD_MIGRATOR", "m")
    assert DatabaseRoleSettings().passwords() == {"api": "a", MIGRATOR: "m"}


def test_the_roles_are_the_services_schemas_and_the_migrator() -> None:
    assert SERVICE_ROLES == ("api", "email_worker", "report_worker", "scheduler")
    assert set(ROLES) == {*SERVICE_ROLES, "migrator"}
    assert set(READS) == {*SERVICE_ROLES, "public"}


def test_reads_of_other_schemas_are_select_only_and_never_the_key_hashes() -> None:
    for schema, grants in READS.items():
        for grant in grants:
            assert grant.role in SERVICE_ROLES and grant.role != schema
            if schema != "public":
                assert grant.privileges == "SELECT"
            assert not (schema == "api" and "api_keys" in grant.objects)


def test_a_service_schema_grants_others_its_declared_views_and_nothing_else() -> None:
    for schema in SERVICE_ROLES:
        granted = {(g.role, name) for g in READS[schema] for name in g.objects}
        declared = {
            (reader, view.name)
            for view in VIEWS
            if view.schema == schema
            for reader in view.readers
        }
        assert granted == declared
    assert ("report_worker", "deliveries_v1") in {
        (g.role, name) for g in READS["email_worker"] for name in g.objects
    }


def test_a_schema_revokes_from_the_others_before_granting_and_grants_its_own_role() -> None:
    statements = grant_statements("email_worker", set(SERVICE_ROLES))
    revokes = [n for n, s in enumerate(statements) if s.startswith("REVOKE")]
    grants = [n for n, s in enumerate(statements) if s.startswith(("GRANT", "ALTER"))]
    assert max(revokes) < min(grants)
    assert not any("FROM email_worker" in s for s in statements)
    assert "GRANT SELECT ON TABLE email_worker.deliveries_v1 TO report_worker" in statements
    assert any(s.startswith("ALTER DEFAULT PRIVILEGES IN SCHEMA email_worker") for s in statements)
    assert not any(s.endswith(("TO api", "TO scheduler")) for s in statements)


def test_roles_that_do_not_exist_get_nothing() -> None:
    statements = grant_statements("report_worker", {"report_worker"})
    assert all(s.endswith("report_worker") for s in statements)
    assert grant_statements("scheduler", set()) == []
