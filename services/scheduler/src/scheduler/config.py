"""The scheduler's settings, read from the environment.

Each schedule's cadence can also be overridden by ``SCHEDULE_<NAME>``; those variables
are read with the schedule table (:mod:`scheduler.schedules`), which knows the names.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from pydantic import EmailStr, Field, TypeAdapter, ValidationError, field_validator
from pydantic_settings import NoDecode

from switchyard_runtime.settings import PlatformSettings, load_settings

#: What a tenant looks like (the API's rule for tenants of keys).
TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"

_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


class Settings(PlatformSettings):
    """``AMQP_URL`` and ``DATABASE_URL`` as in every service, plus the scheduler's own."""

    #: The tenant whose workflows scheduled runs are; its API keys list them.
    scheduler_tenant: str = Field(default="system", pattern=TENANT_PATTERN)
    #: Who receives the daily email activity report, comma separated; empty: no report.
    report_recipients: Annotated[list[EmailStr], NoDecode] = Field(default_factory=list)

    @field_validator("report_recipients", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        addresses = [address.strip() for address in value.split(",") if address.strip()]
        for address in addresses:  # named here, so the error names the variable, not an item
            try:
                _EMAIL.validate_python(address)
            except ValidationError:
                raise ValueError(f"{address!r} is not an email address") from None
        return addresses


@lru_cache
def get_settings() -> Settings:
    """The process's settings; exits naming the variable when one is missing or bad."""
    return load_settings(Settings)
