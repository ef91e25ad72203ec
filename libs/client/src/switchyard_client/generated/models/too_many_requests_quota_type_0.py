from enum import StrEnum


class TooManyRequestsQuotaType0(StrEnum):
    RECIPIENTS_PER_DAY = "recipients_per_day"
    REPORTS_PER_HOUR = "reports_per_hour"

    def __str__(self) -> str:
        return str(self.value)
