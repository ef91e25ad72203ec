from enum import StrEnum


class ReportKind(StrEnum):
    EMAIL_ACTIVITY = "email_activity"
    WORKFLOW_SUMMARY = "workflow_summary"

    def __str__(self) -> str:
        return str(self.value)
