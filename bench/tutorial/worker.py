"""The tutorial's Celery app and its one task.

Celery's defaults throughout, as the tutorials leave them: no publisher confirms, acks
before the task runs, the default prefetch, the default ``celery`` queue, JSON. The
result backend is Celery's database backend on PostgreSQL, and each email opens its own
SMTP connection. Run it with
``celery -A bench.tutorial.worker worker --concurrency 2 --pool prefork``.
"""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage

from celery import Celery


def result_backend(database_url: str) -> str:
    """Celery's database backend for ``database_url``, through psycopg 3 (the PostgreSQL
    driver this environment has; the tutorials' ``psycopg2`` is not installed)."""
    scheme, rest = database_url.split("://", 1)
    return f"db+{scheme.split('+', 1)[0]}+psycopg://{rest}"


app = Celery(
    "tutorial",
    broker=os.environ["AMQP_URL"],
    backend=result_backend(os.environ["DATABASE_URL"]),
)


@app.task
def send_email(to: str, subject: str, body: str) -> dict[str, str]:
    message = EmailMessage()
    message["From"] = "tutorial@example.com"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(os.environ["SMTP_HOST"], int(os.environ["SMTP_PORT"])) as smtp:
        smtp.send_message(message)
    return {"to": to, "subject": subject}
