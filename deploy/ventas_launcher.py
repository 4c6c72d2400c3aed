"""Dagster's DockerRunLauncher, with limits on every run container and an out-of-memory kill
reported as such (dagster.yaml names it as the run launcher; both images carry it).

- Each run container gets a memory, CPU and process ceiling: the launcher's `memory`, `cpus`
  and `pids` (DAGSTER_RUN_MEMORY and DAGSTER_RUN_CPUS in .env), or, for one job, its tags
  `ventas/run_memory` and `ventas/run_cpus`. One run that eats all memory then fails alone,
  instead of taking the host down with the database and the UI.
- A run the kernel killed at its memory limit ends FAILURE with a first line that says so,
  names the limit and how to raise it; Dagster's run monitoring would only say that the
  container is gone. It is not retried: with the same limit it would run out again.
"""

from __future__ import annotations

import time
from typing import Any

from dagster import Field, IntSource, StringSource
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import MAX_RETRIES_TAG
from dagster_docker import DockerRunLauncher
from dagster_docker.container_context import DockerContainerContext
from dagster_docker.docker_run_launcher import DOCKER_CONTAINER_ID_TAG

from ventas_limits import Limits

MEMORY_TAG = "ventas/run_memory"
CPUS_TAG = "ventas/run_cpus"
# How far back an out-of-memory kill is looked for in Docker's events (monitoring notices a
# dead run within seconds; Docker keeps its recent events in memory).
EVENTS_WINDOW_SECONDS = 3600


class LimitedDockerRunLauncher(DockerRunLauncher):
    """DockerRunLauncher with memory, CPU and process limits on every run container."""

    def __init__(
        self,
        inst_data=None,
        memory: str = "2g",
        cpus: str = "1.5",
        pids: int = 1024,
        **docker_config: Any,
    ):
        self.limits = Limits.parse(
            memory, str(cpus), pids, {"memory": "DAGSTER_RUN_MEMORY", "cpus": "DAGSTER_RUN_CPUS"}
        )
        super().__init__(inst_data=inst_data, **docker_config)

    @classmethod
    def config_type(cls):
        return {
            **DockerRunLauncher.config_type(),
            "memory": Field(StringSource, is_required=False, default_value="2g"),
            "cpus": Field(StringSource, is_required=False, default_value="1.5"),
            "pids": Field(IntSource, is_required=False, default_value=1024),
        }

    def limits_for(self, run: DagsterRun) -> Limits:
        """The run's limits: its job's tags where it has them, else the launcher's."""
        return Limits.parse(
            run.tags.get(MEMORY_TAG, self.limits.memory),
            run.tags.get(CPUS_TAG, str(self.limits.cpus)),
            self.limits.pids,
            {
                "memory": f"the tag {MEMORY_TAG}"
                if MEMORY_TAG in run.tags
                else "DAGSTER_RUN_MEMORY",
                "cpus": f"the tag {CPUS_TAG}" if CPUS_TAG in run.tags else "DAGSTER_RUN_CPUS",
            },
        )

    def get_container_context(self, dagster_run: DagsterRun) -> DockerContainerContext:
        limits = DockerContainerContext(
            container_kwargs=self.limits_for(dagster_run).container_kwargs
        )
        return super().get_container_context(dagster_run).merge(limits)

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        health = super().check_run_worker_health(run)
        if health.status in (WorkerStatus.FAILED, WorkerStatus.NOT_FOUND) and self._ran_out(run):
            limit = self.limits_for(run).memory
            self._instance.add_run_tags(run.run_id, {MAX_RETRIES_TAG: "0"})
            # Reported here, first: run monitoring then sees the run failed already, and
            # leaves it as it is.
            self._instance.report_run_failed(
                run,
                (
                    f"Out of memory: the run used all of its memory limit of {limit} and was "
                    "killed. Raise the limit: DAGSTER_RUN_MEMORY in .env for every run, or the "
                    f"tag {MEMORY_TAG} on this job (for example {MEMORY_TAG}: 4g).\n"
                    f"Run monitoring found the run's container: {health}"
                ),
            )
        return health

    def _ran_out(self, run: DagsterRun) -> bool:
        """Whether Docker saw the run's container run out of memory."""
        container_id = run.tags.get(DOCKER_CONTAINER_ID_TAG)
        if not container_id:
            return False
        client = self._get_client(self.get_container_context(run))
        now = int(time.time())
        events = client.events(
            since=now - EVENTS_WINDOW_SECONDS,
            until=now,
            decode=True,
            filters={"container": container_id, "event": "oom"},
        )
        return any(True for _ in events)
