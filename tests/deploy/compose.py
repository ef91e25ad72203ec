"""Reading docker-compose.yml and .env.example as data (no Docker engine needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return dict(pairs)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``, from ``env``."""

    def value(match: re.Match[str]) -> str:
        whole, name = match.group(0), match.group(1)
        if name in env:
            return env[name]
        if ":-" in whole:
            return whole.split(":-", 1)[1][:-1]
        raise KeyError(f"{name} is required and not in .env.example")

    return _VARIABLE.sub(value, text.replace("$$", "\0")).replace("\0", "$")


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    text = (ROOT / "docker-compose.yml").read_text()
    loaded: dict[str, Any] = yaml.safe_load(
        interpolate(text, env_example() if env is None else env)
    )
    return loaded


def definitions(env: dict[str, str] | None = None) -> dict[str, Any]:
    content = compose(env)["configs"]["rabbitmq-definitions"]["content"]
    loaded: dict[str, Any] = json.loads(content)
    return loaded


def required_variables() -> set[str]:
    text = (ROOT / "docker-compose.yml").read_text()
    return set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
