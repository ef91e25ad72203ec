"""The tutorial's API: ``uvicorn bench.tutorial.app:app``, one process.

``POST /emails`` answers 202 with the task id; ``GET /emails/{task_id}`` answers the
task's state from the result backend, and its result once it is ready. Both are
``async def`` and call Celery directly, as the tutorials do, so ``delay()`` (a publish)
and the result read (a new database connection per read: Celery's backend uses no pool
in a process that did not fork) block the event loop while they run.
"""

from __future__ import annotations

from typing import Any

from celery import states
from celery.result import AsyncResult
from fastapi import FastAPI
from pydantic import BaseModel

from bench.tutorial.worker import app as celery_app
from bench.tutorial.worker import send_email

app = FastAPI(title="tutorial")


class Email(BaseModel):
    to: str
    subject: str
    body: str


@app.post("/emails", status_code=202)
async def post_email(email: Email) -> dict[str, str]:
    task = send_email.delay(email.to, email.subject, email.body)
    return {"task_id": task.id}


@app.get("/emails/{task_id}")
async def get_email(task_id: str) -> dict[str, Any]:
    result: AsyncResult[Any] = AsyncResult(task_id, app=celery_app)
    # One read of the backend: a ready result is cached, so .result reads nothing more.
    status = result.status
    answer: dict[str, Any] = {"task_id": task_id, "status": status}
    if status in states.READY_STATES:
        answer["result"] = result.result
    return answer
