"""deploy/webserver.py: a pooled connection that died (Postgres restarted) is replaced before
use instead of failing a request. No Docker: SQLite stands in for a dead Postgres connection."""

import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as db
from dagster_postgres.run_storage import PostgresRunStorage
from sqlalchemy.pool import Pool, QueuePool

spec = importlib.util.spec_from_file_location(
    "webserver_wrapper", Path(__file__).resolve().parents[2] / "deploy" / "webserver.py"
)
assert spec is not None and spec.loader is not None
webserver = importlib.util.module_from_spec(spec)
spec.loader.exec_module(webserver)


def test_dagsters_webserver_pool_does_not_check_connections_before_use():
    """Why deploy/webserver.py exists (dagster-io/dagster#33879). If this fails, Dagster checks
    pooled connections itself: drop the wrapper and run dagster-webserver directly."""
    storage = PostgresRunStorage("postgresql://u:p@127.0.0.1:1/db", should_autocreate_tables=False)
    storage.optimize_for_webserver(statement_timeout=5000, pool_recycle=-1, max_overflow=20)
    assert isinstance(storage._engine.pool, QueuePool)
    assert not storage._engine.pool._pre_ping


def pooled_connection_that_died(tmp_path, check_before_use: bool) -> db.Engine:
    """An engine whose one pooled connection is dead, as after a database restart."""
    engine = db.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", poolclass=QueuePool)
    if check_before_use:
        db.event.listen(engine.pool, "checkout", webserver.ping)
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


def test_the_wrapper_installs_the_check_on_every_pool():
    webserver.install()
    try:
        assert db.event.contains(Pool, "checkout", webserver.ping)
    finally:
        db.event.remove(Pool, "checkout", webserver.ping)
