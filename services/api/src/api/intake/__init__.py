"""The API's intake: a Celery worker that starts workflows asked for by task name.

The scheduler sends ``workflow.start``; the intake builds the plan the HTTP route would
build, and stores the workflow and its outbox message the way a POST does, so the API's
relay publishes it and ``GET /v1/workflows`` lists it. It also runs Celery's result
clean-up, ``celery.backend_cleanup``, on the result tables the API owns.
"""
