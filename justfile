# The platform's everyday commands. `just` alone lists them.

set dotenv-load := false

# List the recipes
default:
    @just --list

# Install the workspace (every package and the dev tools) from the lock
sync:
    @uv sync --frozen --all-packages

# Run the whole system locally with an SMTP sink and a demo email (Ctrl-C stops it)
dev *args: sync
    @uv run --frozen python scripts/dev.py {{args}}

# Run one service by its console script: api, email-worker, report-worker, scheduler
run service *args: sync
    @uv run --frozen {{service}} {{args}}

# Run the tests (real broker and database: TEST_AMQP_URL / TEST_DATABASE_URL, else containers)
test *args: sync
    @uv run --frozen pytest {{args}}

# Ruff and mypy --strict over every package and the tests
lint: sync
    @uv run --frozen ruff check .
    @uv run --frozen ruff format --check .
    @uv run --frozen mypy libs/contracts/src services/api/src services/email-worker/src services/report-worker/src services/scheduler/src tests scripts

# Format and autofix
fmt: sync
    @uv run --frozen ruff format .
    @uv run --frozen ruff check --fix .

# Bring the whole system up in Docker
up *args:
    docker compose up --build {{args}}

# Record compatible contract changes in libs/contracts/snapshots (refuses breaking ones)
snapshot: sync
    @uv run --frozen python -m contracts.compat --update
