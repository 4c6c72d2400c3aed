"""The one-shot `migrate` service (`stack-migrate`): check the instance's configuration, then
bring Dagster's schema up to date. The webserver and the daemon start only once it has
succeeded.

A bad setting, a Postgres that refuses the password or cannot be reached, or an invalid
dagster.yaml ends here in one line that says what is wrong and how to fix it, instead of a
stack trace in a service that restarts forever.

Once it has migrated a database, it records there what did it: Dagster's release and the
files that configure the instance (the fingerprint). When the next start finds the same,
which is every restart of the same images, there is nothing to load or migrate: it ends
without importing Dagster, a second or two sooner for the UI. The mark is kept in the table
`stack_migrate` (`ventas_migrate` before the stack's code had a package of its own: read, then
replaced).
"""

import hashlib
import importlib
import os
import re
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path

import psycopg2

from stack import limits, retention

POSTGRES_SETTINGS = (
    "DAGSTER_POSTGRES_HOST",
    "DAGSTER_POSTGRES_USER",
    "DAGSTER_POSTGRES_PASSWORD",
    "DAGSTER_POSTGRES_DB",
)
LIMIT_SETTINGS = ("DAGSTER_RUN_MEMORY", "DAGSTER_RUN_CPUS")
# The service starts with Postgres, not once it is healthy: what Postgres answers while it is
# still starting (on a new volume, a first server answers on its socket only), and how long
# to wait for it.
STARTING = ("Connection refused", "the database system is starting up", "shutting down")
POSTGRES_WAIT_SECONDS = 60
# The instance's configuration, where Dagster reads it.
CONFIG = os.path.join(os.environ.get("DAGSTER_HOME", "."), "dagster.yaml")
MARK_TABLE = "stack_migrate"
FORMER_MARK_TABLE = "ventas_migrate"


def fail(message: str) -> None:
    print(f"migrate: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def check_settings() -> None:
    missing = [
        name
        for name in (*POSTGRES_SETTINGS, "DAGSTER_MAX_CONCURRENT_RUNS", *LIMIT_SETTINGS)
        if not os.environ.get(name)
    ]
    if missing:
        fail(
            f"missing environment variable(s) {', '.join(missing)}: docker-compose.yml sets "
            "them from .env (see .env.example)."
        )
    limit = os.environ["DAGSTER_MAX_CONCURRENT_RUNS"]
    if not re.fullmatch(r"-?[0-9]+", limit) or int(limit) < -1:
        fail(f"DAGSTER_MAX_CONCURRENT_RUNS={limit!r}: use a whole number of runs (-1: no limit).")
    try:
        retention.retention_days(os.environ)
    except retention.RetentionError as error:
        fail(str(error))
    standby = os.environ.get("DAGSTER_RUN_STANDBY_SECONDS", "0")
    if not standby.isdigit():
        fail(
            f"DAGSTER_RUN_STANDBY_SECONDS={standby!r}: use a whole number of seconds that a run "
            "container started ahead of its run waits for one (600, the default), or 0 for none."
        )
    memory, cpus = (os.environ[name] for name in LIMIT_SETTINGS)
    try:
        limits.Limits.parse(
            memory, cpus, pids=1, where={"memory": LIMIT_SETTINGS[0], "cpus": LIMIT_SETTINGS[1]}
        )
    except limits.LimitError as error:
        fail(str(error))


def connect():
    """A connection to Postgres, waiting up to POSTGRES_WAIT_SECONDS for one that is starting
    (as on new volumes, where migrating needs Dagster: it is imported meanwhile)."""
    host, user, password, db = (os.environ[name] for name in POSTGRES_SETTINGS)
    deadline = time.monotonic() + POSTGRES_WAIT_SECONDS
    loading = None
    while True:
        try:
            return psycopg2.connect(
                host=host, port=5432, user=user, password=password, dbname=db, connect_timeout=10
            )
        except psycopg2.OperationalError as error:
            text = str(error).strip()
            if any(s in text for s in STARTING) and time.monotonic() < deadline:
                if loading is None:
                    loading = threading.Thread(
                        target=importlib.import_module, args=("dagster",), daemon=True
                    )
                    loading.start()
                time.sleep(0.1)
                continue
            break
    if any(s in text for s in STARTING):
        fail(
            f"Postgres at {host}:5432 did not accept connections within "
            f"{POSTGRES_WAIT_SECONDS} s: {text}. Look at its log: `docker compose logs postgres`."
        )
    if "password authentication failed" in text:
        fail(
            f"Postgres refused the password of user {user!r}. POSTGRES_PASSWORD takes "
            "effect only when the postgres volume is first created: set it back to the "
            "password the volume was created with, or erase the run history with "
            "`docker compose down -v`."
        )
    if f'database "{db}" does not exist' in text:
        fail(
            f"Postgres has no database {db!r}. POSTGRES_DB takes effect only when the "
            "postgres volume is first created: set it back, or `docker compose down -v`."
        )
    fail(f"cannot connect to Postgres at {host}:5432 as {user!r}: {text}")


def fingerprint() -> str:
    """Dagster's release and the instance's configuration, as this image has them: dagster.yaml
    and the stack package, whose modules it names (storage, run launcher)."""
    digest = hashlib.sha256()
    for package in ("dagster", "dagster-postgres"):
        digest.update(f"{package}=={version(package)}\n".encode())
    modules = sorted(Path(limits.__file__).parent.glob("*.py"))
    for path in [Path(CONFIG), *modules]:
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def migrated_with(connection, mark: str) -> bool:
    """Whether the last migration of this database was by an image with this fingerprint."""
    with connection, connection.cursor() as cursor:
        for table in (MARK_TABLE, FORMER_MARK_TABLE):
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
            if cursor.fetchone()[0]:
                cursor.execute(f"SELECT fingerprint = %s FROM {table}", (mark,))
                return bool((cursor.fetchone() or [False])[0])
    return False


def record(connection, mark: str) -> None:
    with connection, connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARK_TABLE} ("
            "fingerprint text NOT NULL, dagster text NOT NULL, migrated_at timestamptz NOT NULL)"
        )
        cursor.execute(f"DELETE FROM {MARK_TABLE}")
        cursor.execute(
            f"INSERT INTO {MARK_TABLE} VALUES (%s, %s, now())", (mark, version("dagster"))
        )
        cursor.execute(f"DROP TABLE IF EXISTS {FORMER_MARK_TABLE}")


def migrate() -> None:
    from dagster import DagsterInstance

    try:
        instance = DagsterInstance.get()
    except Exception as error:  # noqa: BLE001 - any load error is a configuration problem
        # Dagster appends the whole schema it expected; the entry it rejected is what matters.
        reason = re.sub(r' Expected: ".*?"\.', "", str(error), flags=re.DOTALL)
        fail(f"cannot load the Dagster instance from {CONFIG}: {type(error).__name__}: {reason}")
    with instance:
        instance.upgrade(print)
    print("migrate: the instance's schema is up to date.", flush=True)


def main() -> None:
    check_settings()
    postgres = connect()
    mark = fingerprint()
    if migrated_with(postgres, mark):
        print(
            "migrate: the instance's schema is up to date: this image's Dagster and "
            "configuration migrated it last.",
            flush=True,
        )
    else:
        migrate()
        record(postgres, mark)
    postgres.close()
