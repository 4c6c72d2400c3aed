"""The one-shot `migrate` service: check the instance's configuration, then bring Dagster's
schema up to date. The webserver and the daemon start only once it has succeeded.

A bad setting, a Postgres that refuses the password or cannot be reached, or an invalid
dagster.yaml ends here in one line that says what is wrong and how to fix it, instead of a
stack trace in a service that restarts forever.
"""

import os
import re
import sys
import time

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
    from ventas_launcher import LimitError, Limits

    memory, cpus = (os.environ[name] for name in LIMIT_SETTINGS)
    try:
        Limits.parse(
            memory, cpus, pids=1, where={"memory": LIMIT_SETTINGS[0], "cpus": LIMIT_SETTINGS[1]}
        )
    except LimitError as error:
        fail(str(error))


def check_postgres() -> None:
    """Connect once, waiting up to POSTGRES_WAIT_SECONDS for a Postgres that is starting."""
    import psycopg2

    host, user, password, db = (os.environ[name] for name in POSTGRES_SETTINGS)
    deadline = time.monotonic() + POSTGRES_WAIT_SECONDS
    while True:
        try:
            psycopg2.connect(
                host=host, port=5432, user=user, password=password, dbname=db, connect_timeout=10
            ).close()
            return
        except psycopg2.OperationalError as error:
            text = str(error).strip()
            if any(s in text for s in STARTING) and time.monotonic() < deadline:
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


def migrate() -> None:
    from dagster import DagsterInstance

    try:
        instance = DagsterInstance.get()
    except Exception as error:  # noqa: BLE001 - any load error is a configuration problem
        config = os.path.join(os.environ.get("DAGSTER_HOME", "."), "dagster.yaml")
        # Dagster appends the whole schema it expected; the entry it rejected is what matters.
        reason = re.sub(r' Expected: ".*?"\.', "", str(error), flags=re.DOTALL)
        fail(f"cannot load the Dagster instance from {config}: {type(error).__name__}: {reason}")
    with instance:
        instance.upgrade(print)
    print("migrate: the instance's schema is up to date.", flush=True)


if __name__ == "__main__":
    check_settings()
    import dagster  # noqa: F401 - a second of imports, while Postgres starts

    check_postgres()
    migrate()
