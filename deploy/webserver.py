"""Start dagster-webserver, with every pooled Postgres connection checked before use.

The webserver keeps Postgres connections in a pool and does not check them
before use (dagster-io/dagster#33879), so after a Postgres restart its next
requests would fail with HTTP 500 on dead connections. This listener pings
each connection as it leaves the pool; a dead one is discarded and replaced
(SQLAlchemy's "pessimistic disconnect handling"). A ping costs one round trip
to Postgres, far less than opening a connection for every query.

If a Dagster upgrade moved the webserver's entry point, the stock dagster-webserver
starts instead, with a warning. Arguments are dagster-webserver's own.
"""

import os
import sys
import warnings

from sqlalchemy import event, exc
from sqlalchemy.pool import Pool


def ping(dbapi_connection, connection_record, connection_proxy) -> None:
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as error:
        # The pool discards this connection and checks out a fresh one.
        raise exc.DisconnectionError() from error


def install() -> None:
    """Ping every connection of every pool as it is checked out."""
    event.listen(Pool, "checkout", ping)


if __name__ == "__main__":
    try:
        from dagster_webserver.cli import main
    except ImportError as moved:
        warnings.warn(
            f"deploy/webserver.py: dagster-webserver's entry point moved ({moved!r}); starting "
            "the stock dagster-webserver, whose pooled connections fail once after a Postgres "
            "restart. Update or remove deploy/webserver.py.",
            stacklevel=1,
        )
        os.execvp("dagster-webserver", ["dagster-webserver", *sys.argv[1:]])
    install()
    sys.argv[0] = "dagster-webserver"
    main()
