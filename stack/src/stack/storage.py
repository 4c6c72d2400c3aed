"""Dagster's Postgres storage, with each process's connections kept open and checked before use
(dagster.yaml names it as the storage; every image has it, with the stack package).

Outside the webserver, dagster-postgres opens a new connection for every query, and a run
writes each of its events with a query of its own: about 50 connections for the sample's
run, 6 ms each here against 0.4 ms for a query on an open connection. This storage gives
every process what the webserver has: one connection per storage kept open (threads that
need more at once get extra ones, closed after use), without the webserver's statement
timeout. Each connection is pinged as it leaves the pool, and a dead one (after a Postgres
restart) is replaced, so a restart costs what it cost when every query connected anew.

On Kubernetes the chart writes its own storage settings: runs there connect per query.
"""

from __future__ import annotations

from typing import Any

from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import pg_url_from_config
from sqlalchemy import event, exc
from sqlalchemy.pool import Pool

from stack.compat import ConfigurableClassData

# For threads that query at once (the daemon's), beyond the connection kept open.
MAX_OVERFLOW = 20


def ping(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    """A pool's checkout listener: one round trip; a dead connection is discarded and the pool
    checks out a fresh one (SQLAlchemy's "pessimistic disconnect handling")."""
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as error:
        raise exc.DisconnectionError() from error


def install_ping() -> None:
    """Ping every connection of every pool of this process as it is checked out."""
    if not event.contains(Pool, "checkout", ping):
        event.listen(Pool, "checkout", ping)


class PooledPostgresStorage(DagsterPostgresStorage):
    """DagsterPostgresStorage whose run, event log and schedule storages keep a pinged
    connection open instead of connecting for every query."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
    ):
        super().__init__(postgres_url, should_autocreate_tables, inst_data)
        install_ping()
        # Dagster's own switch from a connection per query to a pool, which the webserver
        # flips at start-up; a statement timeout of 0 is none.
        for storage in (self.run_storage, self.event_log_storage, self.schedule_storage):
            storage.optimize_for_webserver(
                statement_timeout=0, pool_recycle=-1, max_overflow=MAX_OVERFLOW
            )

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> PooledPostgresStorage:
        return cls(
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            inst_data=inst_data,
        )
