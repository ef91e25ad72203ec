"""The API's pooled async database engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from api.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """An asyncpg engine with a connection pool; timestamps are read and written in UTC."""
    return create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"server_settings": {"timezone": "UTC", "application_name": "api"}},
    )


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for reads, in autocommit: no BEGIN and ROLLBACK round trips
    around them. Each statement still sees what was committed when it started, exactly as
    inside a READ COMMITTED transaction; use ``engine.begin()`` for anything that writes."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")
