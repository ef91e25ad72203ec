# syntax=docker/dockerfile:1.7
# Every service's image: only that service and its dependencies, on the Python the tests
# run on. Build from the repository root, naming the service:
#   docker build --build-arg SERVICE=email-worker .
# (api, email-worker, report-worker or scheduler; docker-compose.yml passes it).
ARG PYTHON=python:3.11-slim

FROM ghcr.io/astral-sh/uv:0.9 AS uv

FROM ${PYTHON} AS build
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=<service>" >&2 && exit 1)
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_CACHE_DIR=/uv-cache
WORKDIR /app
# Dependencies only, from the lock: this layer is rebuilt when the lock changes, not the
# code. With --frozen uv reads the members from the lock, so it needs no pyproject.toml
# of theirs (tests/deploy/test_dockerfile.py runs these steps on just these files).
RUN --mount=type=cache,target=/uv-cache \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package ${SERVICE}
COPY pyproject.toml uv.lock ./
COPY libs/contracts libs/contracts
COPY libs/runtime libs/runtime
COPY services/${SERVICE} services/${SERVICE}
# The service's console script is the image's command, whichever service it is.
RUN --mount=type=cache,target=/uv-cache \
    uv sync --frozen --no-dev --no-editable --package ${SERVICE} \
    && ln -s ${SERVICE} .venv/bin/switchyard-service

FROM ${PYTHON}
RUN useradd --system --uid 10001 --no-create-home app
COPY --from=build --chown=app:app /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER app
# No EXPOSE: the ports are settings (API_PORT, METRICS_PORT) and differ by service;
# docker-compose.yml publishes the API's and Prometheus finds the rest by name.
CMD ["switchyard-service"]
