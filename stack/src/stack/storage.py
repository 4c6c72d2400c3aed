"""Dagster's Postgres storage, with each process's connections kept open and checked before use
(dagster.yaml names it as the storage; every image has it, with the stack package).

Outside the webserver, dagster-postgres opens a new connection for every query, and a run
writes each of its events with a query of its own: about 50 connections for the sample's
run, 6 ms each here against 0.4 ms for a query on an open connection. This storage gives
every process what the webserver has: one connection per storage kept open (threads that
need more at once get extra ones, closed after use), without the webserver's statement
timeout. Each connection is pinged as it leaves the pool, and a dead one (after a Postgres
restart) is replaced, so a restart costs what it cost when every query connected anew.

A run's planned materializations reach the storage in one batch (DAGSTER_EVENT_BATCH_SIZE in
the images), which dagster-postgres writes one event at a time, three statements each: 1.85 s
before a year's backfill run is queued. This storage writes them as Dagster writes a batch of
materializations: one insert, then the asset's entry once.

It also tells the daemon at once when there is work for it (stack.prompt): it notifies
Postgres as a run is queued or ends and as a backfill is requested.

On Kubernetes the chart writes its own storage settings: runs there connect per query.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as db
from dagster import DagsterEvent, DagsterEventType, EventLogEntry
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.utils import pg_url_from_config
from sqlalchemy.pool import Pool

from stack.compat import ConfigurableClassData, SqlEventLogStorageTable

# What the daemon listens on (stack.prompt): a run was queued or ended; a backfill was requested.
RUNS_CHANNEL = "stack_runs"
BACKFILLS_CHANNEL = "stack_backfills"
QUEUE_MOVES = {
    DagsterEventType.RUN_ENQUEUED,
    DagsterEventType.RUN_SUCCESS,
    DagsterEventType.RUN_FAILURE,
    DagsterEventType.RUN_CANCELED,
}

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
        raise db.exc.DisconnectionError() from error


def install_ping() -> None:
    """Ping every connection of every pool of this process as it is checked out."""
    if not db.event.contains(Pool, "checkout", ping):
        db.event.listen(Pool, "checkout", ping)


class PlannedInOneInsert(PostgresEventLogStorage):
    """dagster-postgres's event log storage, writing a batch of planned materializations with
    one insert."""

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        planned = DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        if not events or any(event.dagster_event_type != planned for event in events):
            super().store_event_batch(events)
            return
        insert = self.prepare_insert_event_batch(events)
        with self._connect() as connection:
            rows = connection.execute(insert.returning(SqlEventLogStorageTable.c.id))
            ids = [row[0] for row in rows.fetchall()]
        # Each asset's entry ends as the last of its events leaves it, as one by one.
        last = {
            event.get_dagster_event().asset_key: (event, id)
            for event, id in zip(events, ids, strict=True)
        }
        with self.index_transaction() as connection:
            self._store_asset_event_tags(connection, events, ids)
            for event, id in last.values():
                self._store_asset_event(connection, event, id)


class Notifying(PostgresRunStorage):
    """dagster-postgres's run storage, notifying the daemon once a run's move through the queue
    or a new backfill is stored."""

    def handle_run_event(self, run_id: str, event: DagsterEvent, *args: Any, **kwargs: Any) -> None:
        super().handle_run_event(run_id, event, *args, **kwargs)
        if event.event_type in QUEUE_MOVES:
            self._notify(RUNS_CHANNEL)

    def add_backfill(self, partition_backfill: Any) -> None:
        super().add_backfill(partition_backfill)
        self._notify(BACKFILLS_CHANNEL)

    def _notify(self, channel: str) -> None:
        # Only earlier than the daemon's own pass: a notice lost with the database loses nothing.
        try:
            with self.connect() as connection:
                connection.execute(db.text(f"NOTIFY {channel}"))
        except db.exc.SQLAlchemyError as error:
            logging.getLogger(__name__).debug("could not notify %s: %s", channel, error)


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
        # The same objects with a few methods more: second ones would connect again.
        self.event_log_storage.__class__ = PlannedInOneInsert
        self.run_storage.__class__ = Notifying
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
