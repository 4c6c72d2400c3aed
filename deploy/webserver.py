"""Start dagster-webserver, with every pooled Postgres connection checked before use.

The webserver keeps Postgres connections in a pool and does not check them
before use (dagster-io/dagster#33879), so after a Postgres restart its next
requests would fail with HTTP 500 on dead connections. This listener pings
each connection as it leaves the pool; a dead one is discarded and replaced
(SQLAlchemy's "pessimistic disconnect handling"). A ping costs one round trip
to Postgres, far less than opening a connection for every query.

Arguments are dagster-webserver's own.
"""

import sys

from sqlalchemy import event, exc
from sqlalchemy.pool import Pool


@event.listens_for(Pool, "checkout")
def ping(dbapi_connection, connection_record, connection_proxy) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    except Exception as error:
        # The pool discards this connection and checks out a fresh one.
        raise exc.DisconnectionError() from error
    finally:
        cursor.close()


if __name__ == "__main__":
    from dagster_webserver.cli import main

    sys.argv[0] = "dagster-webserver"
    sys.exit(main())
