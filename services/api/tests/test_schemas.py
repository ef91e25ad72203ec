"""The request body of ``POST /v1/emails``: strict about what it accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from api.schemas import EmailRequest, ReportBatchRequest, ReportRequest
from contracts import Lane, SendEmail


def body(**overrides: Any) -> dict[str, Any]:
    return {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada", **overrides}


def problems(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[tuple[Any, ...], str]]:
    return [(tuple(error["loc"]), error["type"]) for error in exc.value.errors()]


def test_a_minimal_email_is_accepted_with_defaults() -> None:
    request = EmailRequest.model_validate(body())
    assert request.to == ["ada@example.com"]
    assert request.cc == []
    assert request.bcc == []
    assert request.html is None
    assert request.lane is Lane.TRANSACTIONAL


def test_unknown_fields_are_refused_not_dropped() -> None:
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(body(unexpected="field"))
    assert problems(exc) == [(("unexpected",), "extra_forbidden")]
    # The wire payload, by contrast, ignores unknown fields (newer producers).
    assert not hasattr(SendEmail.model_validate(body(unexpected="field")), "unexpected")


def test_fields_the_worker_payload_has_but_the_api_does_not_take_are_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(body(tenant="someone-else"))
    assert (("tenant",), "extra_forbidden") in problems(exc)


def test_the_request_is_immutable() -> None:
    request = EmailRequest.model_validate(body())
    with pytest.raises(ValidationError):
        request.subject = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("count", [1, 50])
def test_one_to_fifty_recipients_are_accepted(count: int) -> None:
    to = [f"user{i}@example.com" for i in range(count)]
    assert len(EmailRequest.model_validate(body(to=to)).to) == count


@pytest.mark.parametrize(
    ("to", "kind"),
    [
        ([], "too_short"),
        ([f"user{i}@example.com" for i in range(51)], "too_long"),
    ],
)
def test_recipient_count_outside_one_to_fifty_is_refused(to: list[str], kind: str) -> None:
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(body(to=to))
    assert problems(exc) == [(("to",), kind)]


def test_missing_recipients_are_refused() -> None:
    payload = body()
    del payload["to"]
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(payload)
    assert problems(exc) == [(("to",), "missing")]


@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
def test_addresses_must_be_email_addresses(field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(body(**{field: ["not-an-address"]}))
    assert [loc[0] for loc, _ in problems(exc)] == [field]


def test_cc_and_bcc_are_limited_to_fifty_too() -> None:
    many = [f"user{i}@example.com" for i in range(51)]
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(body(cc=many, bcc=many))
    assert problems(exc) == [(("cc",), "too_long"), (("bcc",), "too_long")]


def test_a_subject_of_998_characters_is_the_longest_accepted() -> None:
    assert len(EmailRequest.model_validate(body(subject="x" * 998)).subject) == 998
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(body(subject="x" * 999))
    assert problems(exc) == [(("subject",), "string_too_long")]


def test_an_empty_subject_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(body(subject=""))
    assert problems(exc) == [(("subject",), "string_too_short")]


@pytest.mark.parametrize("subject", ["two\nlines", "header\r\nBcc: eve@example.com"])
def test_a_subject_with_a_line_break_is_refused(subject: str) -> None:
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(body(subject=subject))
    assert problems(exc) == [(("subject",), "value_error")]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x00", "\x7f"])
def test_a_subject_with_a_line_separator_or_control_character_is_refused(char: str) -> None:
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate_json(json.dumps(body(subject=f"Hi{char}Bcc: eve@example.com")))
    assert problems(exc) == [(("subject",), "value_error")]


@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
def test_a_display_name_with_a_line_separator_is_refused_at_its_place(field: str) -> None:
    recipients = ["ada@example.com", "Eve\u2028Bcc: x@example.com <eve@example.com>"]
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate_json(json.dumps(body(**{field: recipients})))
    assert problems(exc) == [((field, 1), "value_error")]


@pytest.mark.parametrize("request_model", [ReportRequest, ReportBatchRequest])
def test_a_report_recipient_with_a_line_separator_is_refused(
    request_model: type[ReportRequest] | type[ReportBatchRequest],
) -> None:
    report = {"kind": "email_activity", "period": {"start": "2026-11-01", "end": "2026-11-30"}}
    fields: dict[str, Any] = report
    if request_model is ReportBatchRequest:
        fields = {"reports": [report]}
    with pytest.raises(ValidationError) as exc:
        request_model.model_validate({**fields, "deliver_to": ["Ada\u2028 <ada@example.com>"]})
    assert problems(exc) == [(("deliver_to", 0), "value_error")]


def test_a_tab_in_a_subject_is_accepted() -> None:
    assert EmailRequest.model_validate(body(subject="a\tb")).subject == "a\tb"


def test_text_or_html_is_required() -> None:
    payload = body()
    del payload["text"]
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(payload)
    message = str(exc.value)
    assert "text" in message
    assert "html" in message
    assert EmailRequest.model_validate({**payload, "html": "<p>Hi</p>"}).html == "<p>Hi</p>"
    both = EmailRequest.model_validate({**payload, "text": "Hi", "html": "<p>Hi</p>"})
    assert (both.text, both.html) == ("Hi", "<p>Hi</p>")


def test_an_explicit_null_text_without_html_is_refused() -> None:
    with pytest.raises(ValidationError):
        EmailRequest.model_validate(body(text=None))


@pytest.mark.parametrize("lane", ["transactional", "bulk"])
def test_the_known_lanes_are_accepted(lane: str) -> None:
    assert EmailRequest.model_validate(body(lane=lane)).lane == Lane(lane)


def test_an_unknown_lane_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        EmailRequest.model_validate(body(lane="express"))
    assert problems(exc) == [(("lane",), "enum")]
