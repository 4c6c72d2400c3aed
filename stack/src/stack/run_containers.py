"""The daemon's care of run containers, beyond starting them (the run launcher) and watching
them (run monitoring). The daemon is the one service that holds the Docker socket, and it
never faces the network; stack.daemon runs this beside dagster-daemon.

Every second (`RunContainers.tend`):
- the container of a run being terminated (CANCELING: a user pressed Terminate, which only
  marks the run) gets SIGTERM, so that its run worker records the run CANCELED; SIGKILL after
  STOP_GRACE_SECONDS;
- the container of a run that ended but still runs FINISHED_GRACE_SECONDS later (a run failed
  for exceeding its maximum runtime) is stopped the same way;
- the container of a run that ended is removed once it has exited: run containers are not
  removed by Docker itself (no `auto_remove`), so that run monitoring reads how a dead one
  ended (out of memory, or killed after its last step) before it goes;
- a run still CANCELING STOP_GRACE_SECONDS after its container stopped running (its run
  worker killed before it could record the end), or with no container at all, is recorded
  CANCELED.

When the daemon stops (`docker compose down`, `stop`, `restart`, or a redeploy that recreates
it), `RunContainers.stop_all` cancels every run in flight, stops its container and removes it:
in a `down` they would go on against a stopped database and hold the stack's network and
volumes, which Compose could then not remove. A daemon that crashes stops nothing.

Standbys (stack.standby), containers started ahead of their runs: one that took a run is that
run's container, found by its name; one still waiting is removed once it has exited (it waited
DAGSTER_RUN_STANDBY_SECONDS in vain) or once its location's image has been replaced (a
redeploy: it holds the old code); all are removed when the daemon stops. A daemon killed
outright removes nothing; if Compose then replaces its container rather than restarting it,
the new daemon removes what the old one left waiting (the launcher hands runs only to its own).

Only the containers of this instance's runs are touched: a container's `dagster/run_id` label
(or a standby's name) must name a run of this instance (several stacks may share a Docker
engine); and the standbys this daemon started, or whose daemon's container is gone.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import docker
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from docker.errors import APIError, NotFound

from stack import standby
from stack.compat import RunRecord

RUN_ID_LABEL = "dagster/run_id"
STOP_GRACE_SECONDS = 15.0
FINISHED_GRACE_SECONDS = 30.0
SHUTDOWN = (
    "Canceled because the stack stopped: the daemon received a stop signal (docker compose "
    "down, stop or restart, or a redeploy that recreated it). Re-execute the run once the "
    "stack is up again."
)

log = logging.getLogger("run_containers")


@dataclass(frozen=True)
class Container:
    """A run container as Docker lists it: one call for all of them, every second."""

    id: str
    run_id: str
    status: str  # created, running, exited, dead, ...


class RunContainers:
    def __init__(self, instance: DagsterInstance, client: docker.DockerClient | None = None):
        self.instance = instance
        self.api = (client or docker.from_env()).api
        # When each container was sent SIGTERM; when each CANCELING run was first seen without
        # a running container.
        self.signalled: dict[str, float] = {}
        self.unattended: dict[str, float] = {}

    def ours(self) -> list[tuple[Container, RunRecord]]:
        """This instance's run containers, each with its run's record."""
        containers = [
            Container(c["Id"], c["Labels"][RUN_ID_LABEL], c["State"])
            for c in self.api.containers(all=True, filters={"label": RUN_ID_LABEL})
        ] + [
            Container(c["Id"], name.removeprefix("/" + standby.TAKEN), c["State"])
            for c in self.api.containers(all=True, filters={"name": standby.TAKEN})
            for name in c["Names"][:1]
            if name.startswith("/" + standby.TAKEN) and standby.KEY_LABEL in c["Labels"]
        ]
        if not containers:
            return []
        records = {
            record.dagster_run.run_id: record
            for record in self.instance.get_run_records(
                filters=RunsFilter(run_ids=[c.run_id for c in containers])
            )
        }
        return [(c, records[c.run_id]) for c in containers if c.run_id in records]

    def tend(self) -> None:
        """One look at every run container of this instance, and at runs being terminated."""
        now = time.time()
        running: set[str] = set()
        for container, record in self.ours():
            run = record.dagster_run
            if container.status == "running":
                running.add(run.run_id)
                ended_long_ago = run.is_finished and (
                    now - (record.end_time or now) > FINISHED_GRACE_SECONDS
                )
                if run.status == DagsterRunStatus.CANCELING or ended_long_ago:
                    self._stop(container, now)
            elif run.is_finished and container.status in ("exited", "dead", "created"):
                self._remove(container)
        self._tend_standbys()
        for record in self.instance.get_run_records(
            filters=RunsFilter(statuses=[DagsterRunStatus.CANCELING])
        ):
            run = record.dagster_run
            if run.run_id in running:
                self.unattended.pop(run.run_id, None)
            elif now - self.unattended.setdefault(run.run_id, now) > STOP_GRACE_SECONDS:
                self.instance.report_run_canceled(
                    run, "Canceled: the run's container had ended or was gone."
                )
                self.unattended.pop(run.run_id, None)

    def standbys(self) -> list[dict]:
        """The standbys this daemon started that are still waiting for a run."""
        mine = f"{standby.DAEMON_LABEL}={standby.daemon_id()}"
        return self.api.containers(all=True, filters={"label": mine, "name": standby.WAITING})

    def orphans(self) -> list[dict]:
        """Waiting standbys of other daemons whose container is gone: no daemon will hand
        them a run."""
        me = standby.daemon_id()
        others = [
            c
            for c in self.api.containers(
                all=True, filters={"label": standby.DAEMON_LABEL, "name": standby.WAITING}
            )
            if c["Labels"][standby.DAEMON_LABEL] != me
        ]
        gone = {
            d for d in {c["Labels"][standby.DAEMON_LABEL] for c in others} if not self._exists(d)
        }
        return [c for c in others if c["Labels"][standby.DAEMON_LABEL] in gone]

    def _exists(self, container: str) -> bool:
        try:
            self.api.inspect_container(container)
        except NotFound:
            return False
        return True

    def _tend_standbys(self) -> None:
        """Remove the standbys that exited, those whose image a redeploy replaced, and those
        whose daemon is gone."""
        for c in self.orphans():
            log.info("Removing %s, left waiting by a daemon that is gone", c["Names"][0])
            self._remove(Container(c["Id"], "", c["State"]), force=True)
        current: dict[str, str | None] = {}
        for c in self.standbys():
            if c["State"] == "running":
                image = c["Labels"].get(standby.IMAGE_LABEL, "")
                if image not in current:
                    try:
                        current[image] = self.api.inspect_image(image)["Id"]
                    except NotFound:
                        current[image] = None
                if current[image] == c["ImageID"]:
                    continue
            elif c["State"] == "created":
                continue  # being started
            self._remove(Container(c["Id"], "", c["State"]), force=True)

    def watch(self, stopping: threading.Event, interval: float = 1.0) -> None:
        """tend() every `interval` seconds until `stopping` is set; an error is logged and the
        next look made as usual (Docker or Postgres restarting)."""
        while not stopping.wait(interval):
            try:
                self.tend()
            except Exception:  # one failed look must not end the watch
                log.exception("Looking after the run containers failed; trying again")

    def stop_all(self, reason: str = SHUTDOWN, timeout: float = STOP_GRACE_SECONDS) -> None:
        """Cancel every run in flight of this instance and stop its container (SIGTERM, then
        SIGKILL after `timeout`); wait for the containers of runs that just ended to exit; then
        remove every run container of this instance."""
        running = [(c, record) for c, record in self.ours() if c.status == "running"]
        in_flight = [
            record.dagster_run for _, record in running if not record.dagster_run.is_finished
        ]
        log.info("Stopping the containers of %d runs in flight", len(in_flight))
        for container, record in running:
            run = record.dagster_run
            if run.is_finished:
                continue  # its run worker is exiting
            if run.status != DagsterRunStatus.CANCELING:
                self.instance.report_run_canceling(run, reason)
            self._signal(container, "SIGTERM")
        containers = [c for c, _ in running]
        self._wait_for_exit(containers, timeout)
        for container in containers:
            if self._status(container) == "running":
                self._signal(container, "SIGKILL")
        self._wait_for_exit(containers, 5)
        stopped = {run.run_id for run in in_flight}
        for container, record in self.ours():
            run = record.dagster_run
            if run.run_id in stopped and not run.is_finished:
                self.instance.report_run_canceled(run, reason)
            elif not run.is_finished:  # its container had ended: judged as monitoring would
                health = self.instance.run_launcher.check_run_worker_health(run)
                now = self.instance.get_run_by_id(run.run_id)
                if now and not now.is_finished:
                    self.instance.report_run_failed(run, f"The run's container ended: {health}")
            self._remove(container)
        for c in self.standbys():
            self._remove(Container(c["Id"], "", c["State"]), force=True)

    def _stop(self, container: Container, now: float) -> None:
        first = self.signalled.setdefault(container.id, now)
        if first == now:
            self._signal(container, "SIGTERM")
        elif now - first > STOP_GRACE_SECONDS:
            self._signal(container, "SIGKILL")

    def _remove(self, container: Container, force: bool = False) -> None:
        try:
            self.api.remove_container(container.id, v=True, force=force)
        except NotFound:
            pass
        except APIError as error:  # being removed already
            log.debug("Could not remove %s: %s", container.id[:12], error)
        self.signalled.pop(container.id, None)

    def _wait_for_exit(self, containers: Iterable[Container], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(containers)
        while pending and time.monotonic() < deadline:
            pending = [c for c in pending if self._status(c) == "running"]
            if pending:
                time.sleep(0.2)

    def _status(self, container: Container) -> str:
        try:
            return self.api.inspect_container(container.id)["State"]["Status"]
        except NotFound:
            return "gone"

    def _signal(self, container: Container, signal: str) -> None:
        with contextlib.suppress(NotFound, APIError):  # it ended meanwhile
            self.api.kill(container.id, signal=signal)
