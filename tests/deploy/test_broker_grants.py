"""docker-compose.yml's and the README's broker users are the ones the contracts generate."""

from __future__ import annotations

import json

import yaml

from switchyard_runtime import grants
from tests.deploy.compose import ROOT

REGENERATE = "replace it with the output of `uv run python -m switchyard_runtime.grants`"


def test_the_compose_files_definitions_are_the_generated_ones() -> None:
    # Read without interpolation: the passwords stay compose placeholders.
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    content = loaded["configs"]["rabbitmq-definitions"]["content"]

    assert json.loads(content) == grants.definitions(grants.VHOST), (
        f"docker-compose.yml's rabbitmq-definitions differ from the contracts: {REGENERATE}"
    )


def test_the_readme_shows_the_generated_grants() -> None:
    assert grants.table() in (ROOT / "README.md").read_text(), (
        "README's table of broker users differs: paste "
        "`uv run python -m switchyard_runtime.grants --table`"
    )
