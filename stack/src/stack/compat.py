"""Every use of Dagster's private API in the stack, in one place: what the storage, the run
launcher, the daemon's retry fixes and the Helm values need that Dagster does not export.

Each name here has a canary in stack/tests/test_compat.py that fails when an upgrade of Dagster
moves or changes it: upgrade, run the tests, and this file is the one list to look at.

The daemon's retry fixes are the one part that may go missing without stopping anything: if
Dagster moved what they patch, RETRIES_MOVED says what, and the daemon starts without them
(stack/daemon.py). Everything else is needed to run at all, and fails loudly on import.
"""

from __future__ import annotations

from typing import Any

from dagster._core.definitions.run_request import InstigatorType
from dagster._core.instance.config import get_default_tick_retention_settings
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import RunRecord
from dagster._core.storage.tags import MAX_RETRIES_TAG
from dagster._serdes import ConfigurableClassData
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

__all__ = [
    "MAX_RETRIES_TAG",
    "RETRIES_MOVED",
    "RETRY_ON_ASSET_OR_OP_FAILURE_TAG",
    "RUN_FAILURE_REASON_TAG",
    "WILL_RETRY_TAG",
    "CheckRunHealthResult",
    "ConfigurableClassData",
    "InstigatorType",
    "RunFailureReason",
    "RunRecord",
    "WorkerStatus",
    "auto_reexecution_should_retry_run",
    "docker_client",
    "event_log_consumer",
    "get_default_tick_retention_settings",
    "launcher_instance",
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
