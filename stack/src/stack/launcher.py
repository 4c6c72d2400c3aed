"""Dagster's DockerRunLauncher, with limits on every run container, termination without the
Docker socket, and a dead run worker judged by what it left (dagster.yaml names it as the run
launcher; every image has it, with the stack package).

- Each run container gets a memory, CPU and process ceiling: the launcher's `memory`, `cpus`
  and `pids` (DAGSTER_RUN_MEMORY and DAGSTER_RUN_CPUS in .env), or, for one job, its tags
  `stack/run_memory` and `stack/run_cpus` (the names before, `ventas/run_memory` and
  `ventas/run_cpus`, are read too). One run that eats all memory then fails alone, instead of
  taking the host down with the database and the UI.
- Terminating a run marks it CANCELING, and nothing more: the daemon, the one service with
  the Docker socket, stops the container (stack.run_containers). The webserver, which the
  network reaches, needs no Docker API for it.
- A run starts in a container started ahead of it, with Dagster and the location's code
  imported already, when one fits: a standby (stack.standby); else in a new container.
- A run whose container died is judged by run monitoring (in the daemon) from the container,
  which stays until the daemon removes it after the verdict:
  - every step of its plan had succeeded (killed while winding up): the run is recorded as a
    success, which it is, instead of a failure whose retry would find nothing to do;
  - the kernel killed it at its memory limit: it fails with a first line that says so, names
    the limit and how to raise it, and is not retried (it would run out again);
  - otherwise, as Dagster does: failed, and retried under `run_retries`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import docker.errors
from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterRun,
    Field,
    IntSource,
    StringSource,
    serialize_value,
)
from dagster_docker import DockerRunLauncher
from dagster_docker.container_context import DockerContainerContext
from dagster_docker.docker_run_launcher import DOCKER_CONTAINER_ID_TAG

from stack import standby
from stack.compat import (
    DOCKER_IMAGE_TAG,
    MAX_RETRIES_TAG,
    CheckRunHealthResult,
    ExecuteRunArgs,
    LaunchRunContext,
    WorkerStatus,
    docker_client,
    docker_image,
    launch_container,
    launcher_instance,
    parse_env_var,
    run_container,
)
from stack.limits import Limits

MEMORY_TAG = "stack/run_memory"
CPUS_TAG = "stack/run_cpus"
# What the tags were called when the stack's code lived in the ventas location: still read.
FORMER_TAGS = {MEMORY_TAG: "ventas/run_memory", CPUS_TAG: "ventas/run_cpus"}
# How far back an out-of-memory kill is looked for in Docker's events (monitoring notices a
# dead run within seconds; Docker keeps its recent events in memory).
EVENTS_WINDOW_SECONDS = 3600
# Docker learns of an out-of-memory kill and of the container's exit from two event streams,
# in either order: a container the kernel killed (exit code 137) less than this long ago, with
# no out-of-memory kill recorded yet, is judged at monitoring's next look.
OOM_SETTLE_SECONDS = 3.0
KILLED = 137
DONE_STEP_EVENTS = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_SKIPPED}


class LimitedDockerRunLauncher(DockerRunLauncher):
    """DockerRunLauncher with memory, CPU and process limits on every run container."""

    def __init__(
        self,
        inst_data=None,
        memory: str = "2g",
        cpus: str = "1.5",
        pids: int = 1024,
        standby_seconds: int = 600,
        **docker_config: Any,
    ):
        self.limits = Limits.parse(
            memory, str(cpus), pids, {"memory": "DAGSTER_RUN_MEMORY", "cpus": "DAGSTER_RUN_CPUS"}
        )
        if standby_seconds < 0:
            raise ValueError(
                f"{standby.IDLE_ENV}={standby_seconds} is negative: write the seconds a run "
                "container started ahead of its run may wait for one, or 0 for none."
            )
        self.standby_seconds = standby_seconds
        super().__init__(inst_data=inst_data, **docker_config)

    @classmethod
    def config_type(cls):
        return {
            **DockerRunLauncher.config_type(),
            "memory": Field(StringSource, is_required=False, default_value="2g"),
            "cpus": Field(StringSource, is_required=False, default_value="1.5"),
            "pids": Field(IntSource, is_required=False, default_value=1024),
            "standby_seconds": Field(IntSource, is_required=False, default_value=600),
        }

    def limits_for(self, run: DagsterRun) -> Limits:
        """The run's limits: its job's tags where it has them, else the launcher's."""
        memory, memory_tag = _tag(run, MEMORY_TAG)
        cpus, cpus_tag = _tag(run, CPUS_TAG)
        return Limits.parse(
            memory or self.limits.memory,
            cpus or str(self.limits.cpus),
            self.limits.pids,
            {
                "memory": f"the tag {memory_tag}" if memory else "DAGSTER_RUN_MEMORY",
                "cpus": f"the tag {cpus_tag}" if cpus else "DAGSTER_RUN_CPUS",
            },
        )

    def get_container_context(self, dagster_run: DagsterRun) -> DockerContainerContext:
        limits = DockerContainerContext(
            container_kwargs=self.limits_for(dagster_run).container_kwargs
        )
        return super().get_container_context(dagster_run).merge(limits)

    @property
    def dagster_instance(self):
        return launcher_instance(self)

    def launch_run(self, context: LaunchRunContext) -> None:
        """Hand the run to a standby that fits, or start it in a new container; then start a
        standby for the next run of its location."""
        run = context.dagster_run
        origin = context.job_code_origin
        if origin is None or not self.standby_seconds:
            super().launch_run(context)
            return
        image = docker_image(self, origin)
        container_context = self.get_container_context(run)
        client = docker_client(self, container_context)
        try:
            image_id = client.images.get(image).id
        except docker.errors.ImageNotFound:  # Dagster pulls it
            super().launch_run(context)
            return
        args = ExecuteRunArgs(
            job_origin=origin, run_id=run.run_id, instance_ref=self.dagster_instance.get_ref()
        )
        networks = list(container_context.networks)
        create = _create_kwargs(container_context)
        key = standby.key(image_id, list(container_context.env_vars), networks, create)
        if not self._hand_over(client, key, run, image, serialize_value(args), create):
            launch_container(self, run, image, args.get_command_args())
        try:
            standby.start(client, key, image, create, networks[1:], self.standby_seconds)
        except Exception as error:  # noqa: BLE001 - the next run then starts cold, that is all
            self.dagster_instance.report_engine_event(
                f"Could not start a container ahead of the next run: {error}", run
            )

    def _hand_over(
        self, client: Any, key: str, run: DagsterRun, image: str, args: str, create: dict
    ) -> bool:
        container = standby.take(client, key, run.run_id)
        if container is None:
            return False
        self.dagster_instance.report_engine_event(
            f"Launching run in container {container.id} with image {image}, started ahead "
            "of it with the code loaded",
            run,
            cls=self.__class__,
        )
        self.dagster_instance.add_run_tags(
            run.run_id, {DOCKER_CONTAINER_ID_TAG: container.id, DOCKER_IMAGE_TAG: image}
        )
        try:
            standby.hand_over(container, args, create.get("cpu_shares"))
        except Exception:  # noqa: BLE001 - it ended meanwhile: a new container instead
            container.remove(force=True)
            return False
        return True

    def terminate(self, run_id: str) -> bool:
        """Ask for the run to end: it becomes CANCELING, and the daemon stops its container
        within a second or two (stack.run_containers); its run worker then records it CANCELED."""
        run = self.dagster_instance.get_run_by_id(run_id)
        if not run or run.is_finished:
            return False
        self.dagster_instance.report_run_canceling(
            run, "Termination requested: the daemon stops the run's container."
        )
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        health = super().check_run_worker_health(run)
        if health.status not in (WorkerStatus.FAILED, WorkerStatus.NOT_FOUND):
            return health
        if self._every_step_done(run):
            # Reported here, first: run monitoring then sees the run's status changed, and
            # leaves it as it is.
            self.dagster_instance.report_dagster_event(
                DagsterEvent(
                    event_type_value=DagsterEventType.RUN_SUCCESS.value,
                    job_name=run.job_name,
                    message=(
                        "Every step of this run had succeeded when its container ended, "
                        "before the run worker recorded the end (the container was killed or "
                        f"crashed while winding up): the run succeeded. {health}"
                    ),
                ),
                run_id=run.run_id,
            )
            return health
        state = self._container_state(run)
        oom = state.get("OOMKilled") or self._oom_event(run)
        if not oom and state.get("ExitCode") == KILLED and _ended_within(state, OOM_SETTLE_SECONDS):
            return CheckRunHealthResult(WorkerStatus.RUNNING, msg="killed; judged at the next look")
        if oom:
            limit = self.limits_for(run).memory
            self.dagster_instance.add_run_tags(run.run_id, {MAX_RETRIES_TAG: "0"})
            self.dagster_instance.report_run_failed(
                run,
                (
                    f"Out of memory: the run used all of its memory limit of {limit} and was "
                    "killed. Raise the limit: DAGSTER_RUN_MEMORY in .env for every run, or the "
                    f"tag {MEMORY_TAG} on this job (for example {MEMORY_TAG}: 4g).\n"
                    f"Run monitoring found the run's container: {health}"
                ),
            )
        return health

    def _every_step_done(self, run: DagsterRun) -> bool:
        """Whether every step of the run's plan has succeeded (or was skipped), by its events."""
        if not run.execution_plan_snapshot_id:
            return False
        plan = self.dagster_instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        if any(step.kind.value != "COMPUTE" for step in plan.steps):  # mapped: keys unknown
            return False
        planned = set(plan.step_keys_to_execute or [step.key for step in plan.steps])
        done = {
            record.event_log_entry.step_key
            for record in self.dagster_instance.get_records_for_run(
                run.run_id, of_type=DONE_STEP_EVENTS
            ).records
        }
        return bool(planned) and planned <= done

    def _container_state(self, run: DagsterRun) -> dict:
        container = run_container(self, run)
        return (container.attrs.get("State") or {}) if container else {}

    def _oom_event(self, run: DagsterRun) -> bool:
        """Whether Docker's events record an out-of-memory kill in the run's container."""
        container_id = run.tags.get(DOCKER_CONTAINER_ID_TAG)
        if not container_id:
            return False
        client = docker_client(self, self.get_container_context(run))
        now = int(time.time())
        events = client.events(
            since=now - EVENTS_WINDOW_SECONDS,
            until=now,
            decode=True,
            filters={"container": container_id, "event": "oom"},
        )
        return any(True for _ in events)


def _create_kwargs(container_context: DockerContainerContext) -> dict[str, Any]:
    """What a run container of this context is created with, as DockerRunLauncher creates it,
    but for the run's own labels and job name."""
    create = dict(container_context.container_kwargs)
    create.pop("stop_timeout", None)
    labels = create.pop("labels", {})
    networks = container_context.networks
    return {
        **create,
        "labels": dict.fromkeys(labels, "") if isinstance(labels, list) else dict(labels),
        "environment": dict(parse_env_var(v) for v in container_context.env_vars),
        "network": networks[0] if networks else None,
    }


def _ended_within(state: dict, seconds: float) -> bool:
    """Whether a container's State says it finished less than `seconds` ago."""
    finished = state.get("FinishedAt") or ""
    try:
        # Docker writes nanoseconds; Python takes microseconds.
        ended = datetime.fromisoformat(finished[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return False
    return time.time() - ended.timestamp() < seconds


def _tag(run: DagsterRun, name: str) -> tuple[str | None, str]:
    """A limit's tag on the run, under its name or its former one, and the name it had."""
    for tag in (name, FORMER_TAGS[name]):
        if tag in run.tags:
            return run.tags[tag], tag
    return None, name
