"""Which delivery tags the broker answered, and how (pure)."""

from __future__ import annotations

from api.workflows.confirms import Confirms


def test_a_multiple_ack_answers_every_tag_up_to_it() -> None:
    confirms = Confirms()
    confirms.on_ack(3, multiple=True)
    assert [confirms.answered(tag) for tag in (1, 2, 3, 4)] == [True, True, True, False]
    assert not any(confirms.nacked(tag) for tag in (1, 2, 3))


def test_a_multiple_nack_refuses_the_unanswered_tags_only() -> None:
    confirms = Confirms()
    confirms.on_ack(1, multiple=True)
    confirms.on_ack(3, multiple=False)
    confirms.on_nack(4, multiple=True)
    assert [confirms.nacked(tag) for tag in (1, 2, 3, 4)] == [False, True, False, True]
    assert all(confirms.answered(tag) for tag in (1, 2, 3, 4))


def test_a_single_nack_leaves_its_neighbours_unanswered() -> None:
    confirms = Confirms()
    confirms.on_nack(2, multiple=False)
    assert confirms.nacked(2) and confirms.answered(2)
    assert not confirms.answered(1) and not confirms.answered(3)
