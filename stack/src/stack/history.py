"""Bounded history: finished runs older than the retention deleted with their event logs and
compute logs, in batches, keeping what the asset catalog reads.

Dagster keeps every run and event until deleted, and its `retention:` setting covers ticks
only. Deleting a run's events naively breaks the catalog: partition status and an asset's
latest materialization are read from materialization events (dagster-io/dagster#18369). So
a run stays, with all its events, while it holds the latest event of a kind the catalog reads
(materialization, observation, planned or failed materialization) for some asset and
partition, or the latest evaluation of some asset check. Runs not finished are never touched.

Each batch is its own transaction that deletes rows by run ID (row locks only, the indexes
Dagster has), so runs in flight go on writing. Then a plain VACUUM lets Postgres reuse the
space; it gives disk space back (VACUUM FULL, which locks each table while it rewrites it)
only when no other run is in progress, and skips a table it cannot lock within seconds.
A purge killed midway leaves whole batches deleted and the rest as it was: the next one
finishes the work.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as db

from stack import compat

FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
IN_PROGRESS = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")
# The event kinds whose latest, per asset and partition, the catalog reads.
CATALOG_EVENTS = (
    "ASSET_MATERIALIZATION",
    "ASSET_OBSERVATION",
    "ASSET_MATERIALIZATION_PLANNED",
    "ASSET_FAILED_TO_MATERIALIZE",
)
# Runs a transaction deletes: about 30,000 events for runs of the sample's size.
BATCH = 500
TABLES = ("event_logs", "asset_event_tags", "run_tags", "runs")

log = logging.getLogger("stack.history")


@dataclass(frozen=True)
class Purged:
    runs: int
    events: int
    kept: int
    size_before: int
    size_after: int
    compacted: tuple[str, ...]
    seconds: float


def kept_runs(connection: db.Connection) -> set[str]:
    """The runs that hold the latest catalog event of some asset and partition, or the latest
    evaluation of some asset check."""
    events, checks = compat.SqlEventLogStorageTable, compat.AssetCheckExecutionsTable
    latest = (
        db.select(db.func.max(events.c.id).label("id"))
        .where(events.c.dagster_event_type.in_(CATALOG_EVENTS), events.c.asset_key.isnot(None))
        .group_by(events.c.asset_key, events.c.partition, events.c.dagster_event_type)
        .subquery()
    )
    holding = db.select(events.c.run_id).join(latest, events.c.id == latest.c.id)
    checked = (
        db.select(checks.c.run_id)
        .distinct(checks.c.asset_key, checks.c.check_name)
        .order_by(checks.c.asset_key, checks.c.check_name, checks.c.id.desc())
    )
    kept = {row[0] for row in connection.execute(holding)}
    kept |= {row[0] for row in connection.execute(checked)}
    return kept


def old_runs(connection: db.Connection, cutoff: datetime, after: int, limit: int):
    """(id, run_id) of finished runs last updated before `cutoff`, from row id `after` on."""
    runs = compat.RunsTable
    query = (
        db.select(runs.c.id, runs.c.run_id)
        .where(
            runs.c.status.in_(FINISHED),
            runs.c.update_timestamp < cutoff.astimezone(UTC).replace(tzinfo=None),
            runs.c.id > after,
        )
        .order_by(runs.c.id)
        .limit(limit)
    )
    return connection.execute(query).fetchall()


def delete_runs(connection: db.Connection, run_ids: Sequence[str]) -> int:
    """Delete these runs, their events and their asset events' tags, as Dagster's delete_run
    does for one run; the number of events deleted."""
    events, tags = compat.SqlEventLogStorageTable, compat.AssetEventTagsTable
    asset_events = db.select(events.c.id).where(
        events.c.run_id.in_(run_ids),
        events.c.dagster_event_type.in_(("ASSET_MATERIALIZATION", "ASSET_OBSERVATION")),
    )
    connection.execute(tags.delete().where(tags.c.event_id.in_(asset_events)))
    deleted = connection.execute(events.delete().where(events.c.run_id.in_(run_ids))).rowcount
    connection.execute(
        compat.RunTagsTable.delete().where(compat.RunTagsTable.c.run_id.in_(run_ids))
    )
    connection.execute(compat.RunsTable.delete().where(compat.RunsTable.c.run_id.in_(run_ids)))
    return deleted


def database_size(engine: db.Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(db.text("SELECT pg_database_size(current_database())")).scalar() or 0
        )


def others_in_progress(engine: db.Engine, own_run_id: str | None) -> int:
    runs = compat.RunsTable
    query = db.select(db.func.count()).where(runs.c.status.in_(IN_PROGRESS))
    if own_run_id:
        query = query.where(runs.c.run_id != own_run_id)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar() or 0)


def vacuum(engine: db.Engine, full: bool) -> tuple[str, ...]:
    """VACUUM (ANALYZE) each table; with `full`, VACUUM FULL instead where its lock is had
    within 5 s. The tables that were compacted."""
    compacted = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in TABLES:
            if full:
                connection.execute(db.text("SET lock_timeout = '5s'"))
                try:
                    connection.execute(db.text(f"VACUUM (FULL, ANALYZE) {table}"))
                    compacted.append(table)
                    continue
                except db.exc.OperationalError:
                    log.info("%s is in use: not compacted this time", table)
                finally:
                    connection.execute(db.text("SET lock_timeout = 0"))
            connection.execute(db.text(f"VACUUM (ANALYZE) {table}"))
    return tuple(compacted)


def purge(
    engine: db.Engine,
    days: int,
    delete_logs: Callable[[str], None],
    own_run_id: str | None = None,
    now: datetime | None = None,
    batch: int = BATCH,
) -> Purged:
    """Delete the finished runs last updated more than `days` ago, but those `kept_runs`
    names; `delete_logs(run_id)` removes a deleted run's compute logs."""
    started = time.monotonic()
    size_before = database_size(engine)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    with engine.connect() as connection:
        kept = kept_runs(connection)
    runs = events = kept_old = 0
    after = 0
    while True:
        with engine.begin() as connection:
            page = old_runs(connection, cutoff, after, batch)
            if not page:
                break
            after = page[-1][0]
            doomed = [run_id for _, run_id in page if run_id not in kept]
            kept_old += len(page) - len(doomed)
            if doomed:
                events += delete_runs(connection, doomed)
        for run_id in doomed:
            delete_logs(run_id)
        runs += len(doomed)
    compacted: tuple[str, ...] = ()
    if runs:
        compacted = vacuum(engine, full=others_in_progress(engine, own_run_id) == 0)
    return Purged(
        runs=runs,
        events=events,
        kept=kept_old,
        size_before=size_before,
        size_after=database_size(engine),
        compacted=compacted,
        seconds=time.monotonic() - started,
    )
