"""Dependencies shared by the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from celery import Celery
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from api.config import Settings
from api.workflows.relay import OutboxRelay

#: Until API keys arrive every caller belongs to this tenant.
DEFAULT_TENANT = "default"


@dataclass
class Services:
    """What the app builds at start-up and the routes use."""

    settings: Settings
    engine: AsyncEngine
    celery: Celery
    relay: OutboxRelay


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_tenant() -> str:
    return DEFAULT_TENANT


ServicesDep = Annotated[Services, Depends(get_services)]
TenantDep = Annotated[str, Depends(get_tenant)]
