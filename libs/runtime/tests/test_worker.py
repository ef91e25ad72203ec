"""What tasks share: parse_payload, the ContractTask revoke guard, and retry backoff."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, cast

import pytest
from celery import Celery, Task, states
from celery.exceptions import Ignore

from contracts.email import SEND
from contracts.reports import GENERATE
from switchyard_runtime.worker import ContractTask, InvalidPayload, backoff, parse_payload

# --- parse_payload --------------------------------------------------------------------


def test_parse_payload_returns_the_typed_payload_ignoring_unknown_fields() -> None:
    payload = parse_payload(
        SEND,
        {"to": ["a@example.com"], "subject": "s", "text": "t", "lane": "bulk", "new": 1},
    )

    assert type(payload) is SEND.payload
    assert payload.lane.value == "bulk"


def test_parse_payload_names_the_task_and_every_bad_field() -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_payload(SEND, {"to": ["nobody"], "subject": "a\nb", "text": "t"})

    message = str(info.value)
    assert message.startswith("email.send payload rejected: ")
    assert "to.0: " in message
    assert "subject: " in message


def test_parse_payload_reports_model_level_errors_as_the_payload() -> None:
    with pytest.raises(InvalidPayload, match=r"\(payload\): .*at least one of text and html"):
        parse_payload(SEND, {"to": ["a@example.com"], "subject": "s"})


def test_parse_payload_nested_location() -> None:
    with pytest.raises(InvalidPayload, match=r"report\.generate payload rejected: period: "):
        parse_payload(
            GENERATE,
            {"kind": "email_activity", "period": {"start": "2024-02-01", "end": "2024-01-01"}},
        )


def test_invalid_payload_does_not_chain_the_validation_error() -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_payload(GENERATE, {})
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ is True


# --- ContractTask ---------------------------------------------------------------------


class FakeBackend:
    def __init__(self, state: str) -> None:
        self.state = state
        self.asked: list[str] = []

    def get_state(self, task_id: str) -> str:
        self.asked.append(task_id)
        return self.state


@pytest.fixture
def contract_task(app: Celery) -> Task[Any, Any]:
    # Not shared: a shared task would be registered again in every app made later in
    # this process (each test makes one), where the second registration is refused.
    @app.task(name="unit.contract_task", base=ContractTask, bind=True, shared=False)
    def run(self: ContractTask, /, **kwargs: Any) -> str:
        return "ran"

    return run


def test_contract_task_skips_a_revoked_step(contract_task: Task[Any, Any]) -> None:
    backend = FakeBackend(states.REVOKED)
    contract_task.backend = cast(Any, backend)

    with pytest.raises(Ignore):
        contract_task.before_start("task-1", (), {})
    assert backend.asked == ["task-1"]


@pytest.mark.parametrize("state", [states.PENDING, states.STARTED, states.RETRY, states.SUCCESS])
def test_contract_task_runs_anything_not_revoked(contract_task: Task[Any, Any], state: str) -> None:
    backend = FakeBackend(state)
    contract_task.backend = cast(Any, backend)

    contract_task.before_start("task-2", (), {})  # returns: the task runs
    assert backend.asked == ["task-2"]


def test_contract_task_is_a_celery_task(contract_task: Task[Any, Any]) -> None:
    assert isinstance(contract_task, ContractTask)
    assert contract_task.name == "unit.contract_task"


# --- backoff --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_backoff_is_whole_seconds_between_one_and_the_cap(seed: int) -> None:
    random.seed(seed)
    for retries in range(12):
        for _ in range(200):
            delay = backoff(retries, 2.0, 300.0)
            assert isinstance(delay, int)
            assert 1 <= delay <= min(300, 2 * 2**retries)


def test_backoff_is_capped_by_the_maximum() -> None:
    random.seed(1)
    delays = [backoff(20, 2.0, 30.0) for _ in range(5000)]
    assert max(delays) == 30
    assert min(delays) >= 1


@pytest.mark.parametrize("maximum", [2.5, 7.9, 299.5])
def test_backoff_never_rounds_past_a_fractional_cap(maximum: float) -> None:
    random.seed(2)
    delays = [backoff(30, 1.0, maximum) for _ in range(5000)]
    assert max(delays) <= maximum
    assert max(delays) == int(maximum)


def test_backoff_is_zero_when_base_is_zero() -> None:
    random.seed(3)
    assert {backoff(retries, 0, 300) for retries in range(50)} == {0}
    assert backoff(3, 0.0, 0.0) == 0
    assert backoff(3, -1.0, 10.0) == 0


def test_backoff_is_at_least_one_second_even_for_tiny_bases() -> None:
    random.seed(4)
    assert {backoff(0, 0.001, 300.0) for _ in range(1000)} == {1}
    assert backoff(0, 5.0, 0.0) == 1


def test_backoff_grows_exponentially_with_full_jitter() -> None:
    random.seed(5)
    first = Counter(backoff(0, 4.0, 1000.0) for _ in range(4000))
    later = Counter(backoff(5, 4.0, 1000.0) for _ in range(4000))

    # Full jitter: every whole second up to the ceiling occurs, nothing beyond it.
    assert set(first) == {1, 2, 3, 4}
    assert max(later) == 128
    assert len(later) > 100
    assert sum(k * v for k, v in later.items()) / 4000 > 50


def test_backoff_survives_a_huge_retry_count() -> None:
    random.seed(6)
    for retries in (1023, 1024, 5000):
        assert 1 <= backoff(retries, 2.0, 300.0) <= 300
        assert 1 <= backoff(retries, 2, 300) <= 300
