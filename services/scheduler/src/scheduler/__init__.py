"""The scheduler: Celery beat on the shared app, dispatching periodic work by task name."""
