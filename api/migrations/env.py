"""Alembic environment: migrates the inspection and telemetry tables together."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine, pool

import inspection.models
import telemetry.sql_models

config = context.config
target_metadata: list[MetaData] = [
    inspection.models.Base.metadata,
    telemetry.sql_models.Base.metadata,
]


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
