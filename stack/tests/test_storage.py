"""stack.storage: every process keeps its Postgres connections open, and a pooled connection
that died (Postgres restarted) is replaced before use instead of failing a query. No Docker:
SQLite stands in for a dead Postgres connection; the e2e tests restart a real one."""

import pytest
import sqlalchemy as db
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from sqlalchemy.pool import NullPool, Pool, QueuePool

from stack import storage as pooled

UNREACHABLE = "postgresql://u:p@127.0.0.1:1/db"


@pytest.fixture
def pooled_storage():
    """The stack's storage, and its ping on every pool of the process removed afterwards
    (unless it was there before), so that no other test runs with it by chance."""
    installed = db.event.contains(Pool, "checkout", pooled.ping)
    yield pooled.PooledPostgresStorage(UNREACHABLE, should_autocreate_tables=False)
    if not installed and db.event.contains(Pool, "checkout", pooled.ping):
        db.event.remove(Pool, "checkout", pooled.ping)


def test_dagster_connects_for_every_query_outside_the_webserver():
    """Why stack.storage exists. If this fails, Dagster pools connections in every process:
    name `storage: postgres:` in dagster.yaml again and drop the module."""
    storage = PostgresEventLogStorage(UNREACHABLE, should_autocreate_tables=False)
    assert isinstance(storage._engine.pool, NullPool)


def test_dagsters_pool_does_not_check_connections_before_use():
    """Why the ping is needed (dagster-io/dagster#33879). If this fails, Dagster checks pooled
    connections itself: the ping can go."""
    storage = PostgresRunStorage(UNREACHABLE, should_autocreate_tables=False)
    storage.optimize_for_webserver(statement_timeout=5000, pool_recycle=-1, max_overflow=20)
    assert isinstance(storage._engine.pool, QueuePool)
    assert not storage._engine.pool._pre_ping


def test_the_storage_keeps_a_pinged_connection_open_in_each_of_its_parts(pooled_storage):
    storage = pooled_storage
    for part in (storage.run_storage, storage.event_log_storage, storage.schedule_storage):
        assert isinstance(part._engine.pool, QueuePool), part
    assert db.event.contains(Pool, "checkout", pooled.ping)


def pooled_connection_that_died(tmp_path, check_before_use: bool) -> db.Engine:
    """An engine whose one pooled connection is dead, as after a database restart."""
    engine = db.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", poolclass=QueuePool)
    if check_before_use:
        db.event.listen(engine.pool, "checkout", pooled.ping)
    with engine.connect() as connection:
        dead = connection.connection.dbapi_connection
    dead.close()  # back in the pool, closed underneath
    return engine


def test_without_the_check_a_dead_pooled_connection_fails_the_next_query(tmp_path):
    engine = pooled_connection_that_died(tmp_path, check_before_use=False)
    with pytest.raises(db.exc.ProgrammingError), engine.connect() as connection:
        connection.execute(db.text("SELECT 1"))


def test_the_check_replaces_a_dead_pooled_connection_before_use(tmp_path):
    engine = pooled_connection_that_died(tmp_path, check_before_use=True)
    with engine.connect() as connection:
        assert connection.execute(db.text("SELECT 1")).scalar() == 1
