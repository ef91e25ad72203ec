# The platform's everyday commands. `just` alone lists them.

set dotenv-load := false

# uv and just as the README installs them (.tools/), found by every recipe
export PATH := justfile_directory() + "/.tools/bin:" + env_var("PATH")

# Every workspace package, by the name its pyproject.toml gives it
packages := "contracts runtime api email-worker report-worker scheduler client cli"

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

# Run the tests (real broker and database: TEST_*_URL, else containers); no arguments: test-alone too
test *args: sync
    @uv run --frozen pytest {{args}}
    @{{ if args == "" { just_executable() + " test-alone" } else { "true" } }}

# Each package's unit tests alone, in a fresh environment of only it, its dependencies and its test group
test-alone *names=packages:
    #!/usr/bin/env bash
    set -euo pipefail
    envs="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-alone.XXXXXX")"
    trap 'rm -rf "$envs"' EXIT
    failed=()
    for package in {{names}}; do
        dir="services/$package"
        [[ -d "$dir" ]] || dir="libs/$package"
        echo "--- $package alone ($dir/tests)"
        status=0
        UV_PROJECT_ENVIRONMENT="$envs/$package" uv sync --frozen --quiet --package "$package" \
            --all-extras --no-default-groups --group test || status=$?
        if ((status == 0)); then
            # pytest exits 5 when it collected nothing: a package whose tests vanished fails too.
            "$envs/$package/bin/pytest" -c pyproject.toml --rootdir . -p no:cacheprovider -q \
                "$dir/tests" || status=$?
        fi
        ((status == 0)) || failed+=("$package (exit $status)")
    done
    if ((${#failed[@]})); then
        echo "test-alone: FAILED: ${failed[*]}" >&2
        exit 1
    fi
    echo "test-alone: {{names}}: each passed alone (${SECONDS}s)"

# Ruff and mypy --strict over every package and the tests
lint: sync
    @uv run --frozen ruff check .
    @uv run --frozen ruff format --check .
    @uv run --frozen mypy libs/contracts/src libs/runtime/src libs/client/src libs/cli/src services/api/src services/email-worker/src services/report-worker/src services/scheduler/src tests scripts bench

# Benchmark against the tutorial stack and a ceiling, on fresh vhosts and databases (--quick: small sizes; needs wrk); see bench/README.md
bench *args: sync
    @uv run --frozen python -m bench {{args}}

# Format and autofix
fmt: sync
    @uv run --frozen ruff format .
    @uv run --frozen ruff check --fix .

# Flower on the broker (AMQP_URL, default the local one) at http://127.0.0.1:5555 (FLOWER_PORT)
flower *args: sync
    @uv run --frozen celery --broker="${AMQP_URL:-amqp://guest:guest@localhost:5672//}" flower --address=127.0.0.1 --port="${FLOWER_PORT:-5555}" {{args}}

# Bring the whole system up in Docker
up *args:
    docker compose up --build {{args}}

# Write the API's OpenAPI description to libs/client/openapi.json and regenerate the typed client from it
client: sync
    @uv run --frozen python scripts/generate_client.py

# A new worker package wired into contracts, grants, compose, CI and the workspace (see README "Adding a worker")
new-worker name *args: sync
    @uv run --frozen python scripts/new_worker.py {{name}} {{args}}

# Record compatible contract changes in libs/contracts/src/contracts/snapshots (refuses breaking ones); --database-url URL: the views too
snapshot *args: sync
    @uv run --frozen python -m contracts.compat --update {{args}}
