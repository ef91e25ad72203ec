"""The operator's commands: ``--lanes`` and quota limits are checked before any I/O."""

from __future__ import annotations

import argparse

import pytest

from api.access import admin
from api.cli import main


def test_lanes_are_parsed_in_order_without_repeats() -> None:
    assert admin.parse_lanes(None) is None
    assert admin.parse_lanes("bulk") == ["bulk"]
    assert admin.parse_lanes(" transactional , bulk,bulk ") == ["transactional", "bulk"]


@pytest.mark.parametrize(("value", "named"), [("transactional,news", "'news'"), (",", "no lane")])
def test_an_unknown_lane_or_none_is_refused(value: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        admin.parse_lanes(value)


def test_keys_create_with_an_unknown_lane_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["keys", "create", "--tenant", "acme", "--lanes", "transactional,newsletter"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "'newsletter'" in err and "transactional, bulk" in err


def test_a_quota_limit_is_a_whole_number_or_default() -> None:
    assert admin._limit("12") == 12
    assert admin._limit("default") == "default"
    for bad in ("-1", "1.5", "lots"):
        with pytest.raises(argparse.ArgumentTypeError):
            admin._limit(bad)


def test_quotas_set_needs_a_limit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["quotas", "set", "acme"])
    assert exc.value.code == 2
    assert "--recipients-per-day" in capsys.readouterr().err
