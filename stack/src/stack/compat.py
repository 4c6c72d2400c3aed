"""Every use of Dagster's private API in the stack, in one place: what the storage, the run
launcher, the daemon's retry fixes, the metrics exporter, the history purge and the Helm values
need that Dagster does not export.

Each name here has a canary in stack/tests/test_compat.py that fails when an upgrade of Dagster
moves or changes it: upgrade, run the tests, and this file is the one list to look at.

The daemon's retry fixes are the one part that may go missing without stopping anything: if
Dagster moved what they patch, RETRIES_MOVED says what, and the daemon starts without them
(stack/daemon.py). Everything else is needed to run at all, and fails loudly on import.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as db
from dagster import AssetKey, deserialize_value
from dagster._cli.api import execute_run_command
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._core.instance.config import get_default_tick_retention_settings
from dagster._core.launcher.base import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._core.scheduler.instigation import InstigatorStatus, TickStatus
from dagster._core.storage.dagster_run import RunRecord
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetEventTagsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.runs.schema import RunsTable, RunTagsTable
from dagster._core.storage.tags import DOCKER_IMAGE_TAG, MAX_RETRIES_TAG
from dagster._core.utils import parse_env_var
from dagster._grpc.__generated__ import dagster_api_pb2
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClassData
from dagster._utils.error import SerializableErrorInfo
from dagster_docker import DockerRunLauncher
from dagster_docker.container_context import DockerContainerContext

try:
    from dagster._core.events import RunFailureReason
    from dagster._core.execution.retries import auto_reexecution_should_retry_run
    from dagster._core.storage.tags import (
        RETRY_ON_ASSET_OR_OP_FAILURE_TAG,
        RUN_FAILURE_REASON_TAG,
        WILL_RETRY_TAG,
    )
    from dagster._daemon.auto_run_reexecution import event_log_consumer

    RETRIES_MOVED: Exception | None = None
except (ImportError, AttributeError) as error:  # pragma: no cover - an upgrade moved them
    RETRIES_MOVED = error

# The backfill daemon's loop, whose interval the daemon shortens (stack/daemon.py): it reads
# the controller's DEFAULT_DAEMON_INTERVAL_SECONDS as it starts. Slower backfills if moved.
try:
    from dagster._daemon import controller as daemon_controller
    from dagster._daemon import daemon as daemon_loops

    daemon_loops.execute_backfill_iteration_loop  # noqa: B018 - what the daemon patches
    daemon_controller.DEFAULT_DAEMON_INTERVAL_SECONDS  # noqa: B018
    BACKFILL_LOOP_MOVED: Exception | None = None
except (ImportError, AttributeError) as error:  # pragma: no cover - an upgrade moved them
    BACKFILL_LOOP_MOVED = error

# The queue daemon, whose iteration the daemon also runs as soon as a run is queued
# (stack/prompt.py). Queued runs wait for the daemon's next pass if moved.
try:
    from dagster._daemon.run_coordinator import QueuedRunCoordinatorDaemon

    QueuedRunCoordinatorDaemon.run_iteration  # noqa: B018 - what the daemon wraps
    QUEUE_MOVED: Exception | None = None
except (ImportError, AttributeError) as error:  # pragma: no cover - an upgrade moved it
    QUEUE_MOVED = error

__all__ = [
    "BACKFILL_LOOP_MOVED",
    "DOCKER_IMAGE_TAG",
    "MAX_RETRIES_TAG",
    "QUEUE_MOVED",
    "RETRIES_MOVED",
    "RETRY_ON_ASSET_OR_OP_FAILURE_TAG",
    "RUN_FAILURE_REASON_TAG",
    "WILL_RETRY_TAG",
    "AssetCheckExecutionsTable",
    "AssetEventTagsTable",
    "CheckRunHealthResult",
    "ConfigurableClassData",
    "ExecuteRunArgs",
    "InstigatorStatus",
    "InstigatorType",
    "LaunchRunContext",
    "QueuedRunCoordinatorDaemon",
    "RunFailureReason",
    "RunRecord",
    "RunTagsTable",
    "RunsTable",
    "SqlEventLogStorageTable",
    "TickStatus",
    "WorkerStatus",
    "auto_reexecution_should_retry_run",
    "daemon_controller",
    "daemon_loops",
    "database_size",
    "docker_client",
    "docker_image",
    "event_log_consumer",
    "execute_run_command",
    "get_default_tick_retention_settings",
    "latest_check_results",
    "launch_container",
    "launcher_instance",
    "location_load_error",
    "parse_env_var",
    "postgres_url",
    "run_container",
]


# DockerRunLauncher's own members, which a subclass reaches but Dagster does not document.


def launcher_instance(launcher: DockerRunLauncher) -> Any:
    """The DagsterInstance a run launcher belongs to."""
    return launcher._instance


def docker_client(launcher: DockerRunLauncher, context: DockerContainerContext) -> Any:
    """The Docker client the launcher uses for a run with this container context."""
    return launcher._get_client(context)


def run_container(launcher: DockerRunLauncher, run: Any) -> Any:
    """The Docker container of a run, or None once it is gone."""
    return launcher._get_container(run)


def docker_image(launcher: DockerRunLauncher, job_code_origin: Any) -> str:
    """The image a run of this job starts in (its code location's)."""
    return launcher._get_docker_image(job_code_origin)


def launch_container(launcher: DockerRunLauncher, run: Any, image: str, command: Any) -> None:
    """Create and start a new container running `command` for `run`, as Dagster does."""
    launcher._launch_container_with_command(run, image, command)


# What the metrics exporter reads that Dagster has no public API for.


def location_load_error(host: str, port: int, timeout: int) -> str | None:
    """Ask a code server for its repositories: None when its code loaded, else the load
    error it shows in the UI, or why it did not answer within `timeout` seconds."""
    client = DagsterGrpcClient(host=host, port=port)
    try:
        reply = client._query(
            "ListRepositories", dagster_api_pb2.ListRepositoriesRequest, timeout=timeout
        )
    except DagsterUserCodeUnreachableError as error:
        return f"unreachable: {error}"
    loaded = deserialize_value(reply.serialized_list_repositories_response_or_error)
    return loaded.to_string() if isinstance(loaded, SerializableErrorInfo) else None


def latest_check_results(instance: Any) -> list[tuple[str, str, bool]]:
    """(asset key, check name, passed) for the latest finished evaluation of every asset
    check the instance has seen: one query on Dagster's asset_check_executions table."""
    table = AssetCheckExecutionsTable
    latest = (
        db.select(
            table.c.asset_key,
            table.c.check_name,
            table.c.execution_status,
        )
        .where(table.c.execution_status.in_(["SUCCEEDED", "FAILED"]))
        .distinct(table.c.asset_key, table.c.check_name)
        .order_by(table.c.asset_key, table.c.check_name, table.c.id.desc())
    )
    with instance.event_log_storage.index_connection() as connection:
        rows = connection.execute(latest).fetchall()
    results = []
    for key, name, status in rows:
        asset = AssetKey.from_db_string(key)
        if asset is not None:
            results.append((asset.to_user_string(), name, status == "SUCCEEDED"))
    return results


def database_size(instance: Any) -> int:
    """Bytes on disk of the instance's Postgres database."""
    with instance.event_log_storage.index_connection() as connection:
        return connection.execute(db.text("SELECT pg_database_size(current_database())")).scalar()


def postgres_url(instance: Any) -> str:
    """The URL of the instance's Postgres database, as its storage connects to it."""
    return instance.run_storage.postgres_url
