from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.lane import Lane
from ..types import UNSET, Unset

T = TypeVar("T", bound="EmailRequest")


@_attrs_define
class EmailRequest:
    """``POST /v1/emails``: one email, delivered by the email worker.

    Attributes:
        to (list[str]):
        subject (str): one header line: no line separator or control character (TAB is allowed)
        cc (list[str] | Unset):
        bcc (list[str] | Unset):
        text (None | str | Unset):
        html (None | str | Unset):
        lane (Lane | Unset): Which queue an email waits in.
    """

    to: list[str]
    subject: str
    cc: list[str] | Unset = UNSET
    bcc: list[str] | Unset = UNSET
    text: str | Unset | None = UNSET
    html: str | Unset | None = UNSET
    lane: Lane | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        to = self.to

        subject = self.subject

        cc: list[str] | Unset = UNSET
        if not isinstance(self.cc, Unset):
            cc = self.cc

        bcc: list[str] | Unset = UNSET
        if not isinstance(self.bcc, Unset):
            bcc = self.bcc

        text: str | Unset | None
        text = UNSET if isinstance(self.text, Unset) else self.text

        html: str | Unset | None
        html = UNSET if isinstance(self.html, Unset) else self.html

        lane: str | Unset = UNSET
        if not isinstance(self.lane, Unset):
            lane = self.lane.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "to": to,
                "subject": subject,
            }
        )
        if cc is not UNSET:
            field_dict["cc"] = cc
        if bcc is not UNSET:
            field_dict["bcc"] = bcc
        if text is not UNSET:
            field_dict["text"] = text
        if html is not UNSET:
            field_dict["html"] = html
        if lane is not UNSET:
            field_dict["lane"] = lane

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        to = cast(list[str], d.pop("to"))

        subject = d.pop("subject")

        cc = cast(list[str], d.pop("cc", UNSET))

        bcc = cast(list[str], d.pop("bcc", UNSET))

        def _parse_text(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(str | Unset | None, data)

        text = _parse_text(d.pop("text", UNSET))

        def _parse_html(data: object) -> str | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(str | Unset | None, data)

        html = _parse_html(d.pop("html", UNSET))

        _lane = d.pop("lane", UNSET)
        lane: Lane | Unset
        lane = UNSET if isinstance(_lane, Unset) else Lane(_lane)

        email_request = cls(
            to=to,
            subject=subject,
            cc=cc,
            bcc=bcc,
            text=text,
            html=html,
            lane=lane,
        )

        return email_request
