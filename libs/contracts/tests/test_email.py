"""The email domain: SendEmail / EmailContent validation, results and the lane routing."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from contracts import SEND_EMAIL, EmailSent, Lane, ReportAttachment, SendEmail
from contracts import email as email_domain
from contracts.email import (
    MAX_ATTACHMENTS,
    MAX_RECIPIENTS,
    MAX_SUBJECT_LENGTH,
    SEND,
    EmailContent,
    RefusedRecipient,
    routing_key,
)


def payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi there"}
    data.update(overrides)
    return data


def error_locs(exc: pytest.ExceptionInfo[ValidationError]) -> set[tuple[int | str, ...]]:
    return {tuple(error["loc"]) for error in exc.value.errors()}


# --- valid payloads -------------------------------------------------------------------


def test_minimal_payload_gets_defaults() -> None:
    email = SendEmail.model_validate(payload())

    assert email.to == ["ada@example.com"]
    assert email.cc == []
    assert email.bcc == []
    assert email.html is None
    assert email.lane is Lane.TRANSACTIONAL
    assert email.attachments == []
    assert email.tenant == "default"


def test_html_alone_is_a_body() -> None:
    email = SendEmail.model_validate(payload(text=None, html="<p>Hi</p>"))
    assert email.html == "<p>Hi</p>"
    assert email.text is None


def test_bulk_lane_from_its_wire_value() -> None:
    assert SendEmail.model_validate(payload(lane="bulk")).lane is Lane.BULK


@pytest.mark.parametrize("count", [1, MAX_RECIPIENTS])
def test_recipient_count_bounds_accepted(count: int) -> None:
    to = [f"user{i}@example.com" for i in range(count)]
    assert len(SendEmail.model_validate(payload(to=to)).to) == count


@pytest.mark.parametrize("length", [1, MAX_SUBJECT_LENGTH])
def test_subject_length_bounds_accepted(length: int) -> None:
    assert len(SendEmail.model_validate(payload(subject="s" * length)).subject) == length


# --- invalid payloads -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        pytest.param({"to": []}, ("to",), id="no-recipient"),
        pytest.param(
            {"to": [f"u{i}@example.com" for i in range(MAX_RECIPIENTS + 1)]},
            ("to",),
            id="too-many-recipients",
        ),
        pytest.param(
            {"cc": [f"u{i}@example.com" for i in range(MAX_RECIPIENTS + 1)]},
            ("cc",),
            id="too-many-cc",
        ),
        pytest.param({"to": ["not-an-address"]}, ("to", 0), id="bad-address"),
        pytest.param({"bcc": ["nobody@"]}, ("bcc", 0), id="bad-bcc"),
        pytest.param({"subject": ""}, ("subject",), id="empty-subject"),
        pytest.param(
            {"subject": "s" * (MAX_SUBJECT_LENGTH + 1)}, ("subject",), id="subject-too-long"
        ),
        pytest.param({"subject": "two\nlines"}, ("subject",), id="subject-lf"),
        pytest.param({"subject": "two\rlines"}, ("subject",), id="subject-cr"),
        pytest.param({"subject": "header\r\nBcc: x@evil.example"}, ("subject",), id="crlf"),
        pytest.param({"lane": "express"}, ("lane",), id="unknown-lane"),
        pytest.param({"tenant": ""}, ("tenant",), id="empty-tenant"),
        pytest.param({"tenant": "t" * 65}, ("tenant",), id="tenant-too-long"),
        pytest.param(
            {"attachments": [{"report_id": "not-a-uuid"}]},
            ("attachments", 0, "report_id"),
            id="bad-report-id",
        ),
        pytest.param(
            {"attachments": [{"report_id": str(uuid4())}] * (MAX_ATTACHMENTS + 1)},
            ("attachments",),
            id="too-many-attachments",
        ),
    ],
)
def test_invalid_payload_is_rejected_at_the_field(
    overrides: dict[str, Any], loc: tuple[int | str, ...]
) -> None:
    with pytest.raises(ValidationError) as info:
        SendEmail.model_validate(payload(**overrides))
    assert loc in error_locs(info)


#: Every character no header value may hold: the C0 controls but TAB, DEL, the C1
#: controls (U+0085 NEXT LINE among them), U+2028 and U+2029.
HEADER_BREAKING = [
    *(chr(c) for c in range(0x20) if c != 0x09),
    "\x7f",
    *(chr(c) for c in range(0x80, 0xA0)),
    "\u2028",
    "\u2029",
]


@pytest.mark.parametrize("char", HEADER_BREAKING, ids=lambda c: f"U+{ord(c):04X}")
def test_a_subject_with_a_line_separator_or_control_character_is_refused(char: str) -> None:
    with pytest.raises(ValidationError) as info:
        SendEmail.model_validate(payload(subject=f"before{char}after"))
    assert error_locs(info) == {("subject",)}
    assert f"U+{ord(char):04X}" in str(info.value)


@pytest.mark.parametrize("char", HEADER_BREAKING, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
def test_a_display_name_with_a_line_separator_or_control_character_is_refused(
    field: str, char: str
) -> None:
    recipients = ["ada@example.com", f"Eve{char}Mallory <eve@example.com>"]
    with pytest.raises(ValidationError) as info:
        SendEmail.model_validate(payload(**{field: recipients}))
    assert error_locs(info) == {(field, 1)}


def test_a_tab_is_whitespace_inside_one_header_line() -> None:
    email = SendEmail.model_validate(payload(subject="Monthly\treport", to=["Ada\tL <a@x.io>"]))
    assert email.subject == "Monthly\treport"
    assert email.to == ["a@x.io"]


def test_other_unicode_in_a_subject_and_a_display_name_is_accepted() -> None:
    subject = "Grüße — ✓ 日本語 \u200b\u00a0"
    email = SendEmail.model_validate(payload(subject=subject, to=["Zoë Ünal <zoe@example.com>"]))
    assert email.subject == subject
    assert email.to == ["zoe@example.com"]


def test_subject_error_says_single_line() -> None:
    with pytest.raises(ValidationError, match="single line"):
        SendEmail.model_validate(payload(subject="a\nb"))


def test_a_body_is_required() -> None:
    with pytest.raises(ValidationError, match="at least one of text and html"):
        SendEmail.model_validate(payload(text=None))


def test_email_content_has_the_same_rules_without_the_delivery_fields() -> None:
    content = EmailContent.model_validate(payload(html="<b>x</b>"))
    assert not hasattr(content, "attachments")
    with pytest.raises(ValidationError, match="at least one of text and html"):
        EmailContent.model_validate({"to": ["a@example.com"], "subject": "s"})


@pytest.mark.parametrize("filename", ["report 2024-01.csv", "a_b.json"])
def test_attachment_filename_accepted(filename: str) -> None:
    attachment = ReportAttachment(report_id=uuid4(), filename=filename)
    assert attachment.filename == filename


@pytest.mark.parametrize("filename", ["../etc/passwd", "a/b.csv", 'x".csv', "x" * 201, ""])
def test_attachment_filename_rejected(filename: str) -> None:
    with pytest.raises(ValidationError):
        ReportAttachment(report_id=uuid4(), filename=filename)


# --- the wire -------------------------------------------------------------------------


def test_from_wire_ignores_unknown_fields_at_every_level() -> None:
    report_id = uuid4()
    email = SendEmail.from_wire(
        payload(
            priority="high",
            attachments=[{"report_id": str(report_id), "inline": True}],
        )
    )

    assert email.attachments == [ReportAttachment(report_id=report_id)]
    assert "priority" not in email.model_dump()


def test_to_wire_produces_a_json_safe_dict() -> None:
    report_id = uuid4()
    email = SendEmail.model_validate(
        payload(
            lane=Lane.BULK,
            cc=["cc@example.com"],
            attachments=[{"report_id": report_id, "filename": "r.csv"}],
            tenant="acme",
        )
    )

    wire = email.to_wire()

    assert wire == {
        "to": ["ada@example.com"],
        "cc": ["cc@example.com"],
        "bcc": [],
        "subject": "Hello",
        "text": "Hi there",
        "html": None,
        "lane": "bulk",
        "attachments": [{"report_id": str(report_id), "filename": "r.csv"}],
        "tenant": "acme",
    }
    assert json.loads(json.dumps(wire)) == wire
    assert SendEmail.from_wire(wire) == email


def test_to_wire_revalidates_an_unchecked_payload() -> None:
    unchecked = SendEmail.model_construct(
        to=["ada@example.com"], cc=[], bcc=[], subject="s", text=None, html=None
    )
    with pytest.raises(ValidationError, match="at least one of text and html"):
        unchecked.to_wire()


def test_email_sent_round_trips() -> None:
    sent = EmailSent(
        message_id="<id@example.com>",
        accepted=["a@example.com"],
        refused=[RefusedRecipient(address="b@example.com", code=550, message="no such user")],
    )

    wire = sent.to_wire()

    assert wire == {
        "message_id": "<id@example.com>",
        "accepted": ["a@example.com"],
        "refused": [{"address": "b@example.com", "code": 550, "message": "no such user"}],
    }
    assert EmailSent.from_wire({**wire, "smtp_host": "mx"}) == sent
    assert EmailSent(message_id="m", accepted=[]).refused == []


def test_email_sent_requires_its_fields() -> None:
    with pytest.raises(ValidationError) as info:
        EmailSent.from_wire({"refused": []})
    assert error_locs(info) == {("message_id",), ("accepted",)}


def test_report_attachment_id_is_a_uuid() -> None:
    report_id = uuid4()
    assert ReportAttachment.from_wire({"report_id": str(report_id)}).report_id == report_id
    assert isinstance(ReportAttachment(report_id=report_id).report_id, UUID)


# --- routing --------------------------------------------------------------------------


def test_routing_keys_per_lane() -> None:
    assert routing_key(Lane.TRANSACTIONAL) == "email.send.transactional"
    assert routing_key(Lane.BULK) == "email.send.bulk"


@pytest.mark.parametrize(
    ("kwargs", "queue", "key"),
    [
        ({}, "email.transactional", "email.send.transactional"),
        ({"lane": "transactional"}, "email.transactional", "email.send.transactional"),
        ({"lane": "bulk"}, "email.bulk", "email.send.bulk"),
        ({"lane": Lane.BULK}, "email.bulk", "email.send.bulk"),
        # A bad lane never decides the queue: the worker rejects the payload itself.
        ({"lane": "express"}, "email.transactional", "email.send.transactional"),
        ({"lane": None}, "email.transactional", "email.send.transactional"),
        ({"lane": ["bulk"]}, "email.transactional", "email.send.transactional"),
    ],
)
def test_send_contract_routes_by_lane(kwargs: dict[str, Any], queue: str, key: str) -> None:
    assert SEND.route(kwargs) == {"queue": queue, "exchange": "email", "routing_key": key}


def test_send_contract_shape() -> None:
    assert SEND.name == SEND_EMAIL == "email.send"
    assert SEND.payload is SendEmail
    assert SEND.result is EmailSent
    assert SEND.exchange is email_domain.EXCHANGE
    assert [q.name for q in SEND.queues] == ["email.transactional", "email.bulk"]
    assert [q.name for q in SEND.dead_letter_queues] == [
        "email.transactional.dlq",
        "email.bulk.dlq",
    ]
    assert {lane: q.name for lane, q in email_domain.LANE_QUEUES.items()} == {
        Lane.TRANSACTIONAL: "email.transactional",
        Lane.BULK: "email.bulk",
    }
    assert set(email_domain.LANE_QUEUES) == set(Lane)
