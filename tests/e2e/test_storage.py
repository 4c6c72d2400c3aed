"""stack.storage on a real Postgres: a run's planned materializations, written in one insert,
leave the database exactly as dagster-postgres's one-by-one writes do; a queued run and a new
backfill reach the daemon's listener (stack.prompt) as they are stored."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as db
from dagster import AssetKey, DagsterEvent, DagsterEventType, DagsterRun, EventLogEntry
from dagster._core.events import AssetMaterializationPlannedData
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster_postgres.event_log import PostgresEventLogStorage

from stack.prompt import Prompt
from stack.storage import PooledPostgresStorage
from tests.e2e.compose_stack import docker, free_port, wait_until

PASSWORD = "storage-test"
RUN_ID = "0b1e5c2a-6f3d-4d8e-9a57-3c2b1d0e4f61"
JOB, STEP = "__ASSET_JOB", "ventas_diarias"
TABLES = ("event_logs", "asset_keys", "asset_event_tags")


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A Postgres container of its own on a free port; its URL without a database."""
    name, port = f"ventas-e2e-storage-{uuid.uuid4().hex[:6]}", free_port()
    docker(
        "run", "--detach", "--name", name, f"--publish=127.0.0.1:{port}:5432",
        f"--env=POSTGRES_PASSWORD={PASSWORD}", "postgres:17",
    )  # fmt: skip
    try:
        wait_until(
            lambda: (
                docker("exec", name, "pg_isready", "-h", "127.0.0.1", check=False).returncode == 0
            ),
            60,
            "Postgres",
        )
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}"
    finally:
        docker("rm", "--force", "--volumes", name, check=False)


def database(server: str, name: str) -> str:
    engine = db.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(db.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{server}/{name}"


def planned(days: list[str]) -> list[EventLogEntry]:
    """What Dagster writes as a backfill run of `days` is created."""
    return [
        EventLogEntry(
            error_info=None,
            level=logging.DEBUG,
            user_message="",
            run_id=RUN_ID,
            timestamp=1_735_689_600.0 + n,
            step_key=STEP,
            job_name=JOB,
            dagster_event=DagsterEvent.build_asset_materialization_planned_event(
                JOB, STEP, AssetMaterializationPlannedData(AssetKey(STEP), partition=day)
            ),
        )
        for n, day in enumerate(days)
    ]


def contents(url: str) -> dict[str, list[dict]]:
    """Every row of TABLES, but when Postgres wrote it (a column's default: now())."""
    engine = db.create_engine(url)
    with engine.connect() as connection:
        tables = {
            table: [
                {column: value for column, value in row.items() if column != "create_timestamp"}
                for row in connection.execute(db.text(f"SELECT * FROM {table}")).mappings()
            ]
            for table in TABLES
        }
    engine.dispose()
    return {table: sorted(rows, key=repr) for table, rows in tables.items()}


def inserts_while(engine: db.Engine, write) -> int:
    """How many INSERT statements `write()` sends through `engine`."""
    sent: list[str] = []

    def count(connection, cursor, statement, *args) -> None:
        sent.append(statement)

    db.event.listen(engine, "before_cursor_execute", count)
    try:
        write()
    finally:
        db.event.remove(engine, "before_cursor_execute", count)
    return sum(statement.lstrip().upper().startswith("INSERT") for statement in sent)


def test_a_years_planned_materializations_are_one_insert_with_the_same_result(postgres):
    days = [f"{date(2024, 1, 1) + timedelta(n):%Y-%m-%d}" for n in range(366)]
    events = planned(days)
    dagsters = PostgresEventLogStorage(database(postgres, "one_by_one"))
    ours = PooledPostgresStorage(database(postgres, "one_insert")).event_log_storage

    by_dagster = inserts_while(dagsters._engine, lambda: dagsters.store_event_batch(events))
    by_us = inserts_while(ours._engine, lambda: ours.store_event_batch(events))

    # dagster-postgres: the event and the asset's entry, each day.
    assert by_dagster >= 2 * len(days)
    assert by_us == 2  # the events, then the asset's entry
    one_by_one, one_insert = contents(dagsters.postgres_url), contents(ours.postgres_url)
    assert len(one_by_one["event_logs"]) == len(days)
    assert one_insert == one_by_one
    # What the UI reads to show a day as in progress: the run that planned it.
    info = ours.get_latest_planned_materialization_info(AssetKey(STEP), partition="2024-06-30")
    assert info is not None and info.run_id == RUN_ID


def test_a_queued_run_an_ended_run_and_a_new_backfill_reach_the_daemons_listener(postgres):
    storage = PooledPostgresStorage(database(postgres, "notices")).run_storage
    prompt, stopping = Prompt(storage.postgres_url), threading.Event()
    listener = threading.Thread(target=prompt.listen, args=(stopping,), daemon=True)
    listener.start()
    try:
        # Set once connected, for what was stored before.
        assert prompt.runs.wait(10) and prompt.backfills.wait(1)
        time.sleep(0.5)  # anything else it had to say
        prompt.runs.clear(), prompt.backfills.clear()

        origin = RemoteJobOrigin(
            RemoteRepositoryOrigin(
                GrpcServerCodeLocationOrigin(host="user_code", port=4000, location_name="ventas"),
                "__repository__",
            ),
            JOB,
        )
        run = storage.add_run(DagsterRun(job_name=JOB, run_id=RUN_ID, remote_job_origin=origin))
        started = DagsterEvent(DagsterEventType.RUN_START.value, job_name=JOB)
        storage.handle_run_event(run.run_id, started)
        assert not prompt.runs.wait(1)  # a start frees no place in the queue
        for moved in (DagsterEventType.RUN_ENQUEUED, DagsterEventType.RUN_SUCCESS):
            storage.handle_run_event(run.run_id, DagsterEvent(moved.value, job_name=JOB))
            assert prompt.runs.wait(5), moved
            prompt.runs.clear()
        assert not prompt.backfills.is_set()

        storage.add_backfill(
            PartitionBackfill(
                backfill_id="yearly",
                status=BulkActionStatus.REQUESTED,
                from_failure=False,
                tags={},
                backfill_timestamp=time.time(),
            )
        )
        assert prompt.backfills.wait(5)
    finally:
        stopping.set()
        listener.join(5)
