"""The tutorial stack, the benchmark's peer: FastAPI and Celery written the way their
tutorials write them, so the product is compared with what people build first.

``app.py`` is the API (``uvicorn bench.tutorial.app:app``), ``worker.py`` the Celery app
and its task (``celery -A bench.tutorial.worker worker``). Settings come from
``AMQP_URL``, ``DATABASE_URL``, ``SMTP_HOST`` and ``SMTP_PORT``. Nothing here imports
the product: the point is what the product's machinery costs over this.
"""
