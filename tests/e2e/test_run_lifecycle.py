"""A run's end, however it comes: terminated from the UI or the API by the daemon (the webserver
holds no Docker socket), killed after its last step (recorded as the success it is), or the
stack taken down under it (canceled, and nothing of the stack left behind).

The stack runs from a copy of the project with two test assets whose timing the tests hold:
`espera_lenta` runs until the test creates the file `seguir`; `rematado` succeeds at once, and
its run then winds up (a resource's teardown, after the last step and before the run's end is
recorded) until the test creates `rematar`. The tests run in this file's order: the last one
takes the stack down.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.compose_stack import (
    add_deploy_assets,
    docker,
    docker_events,
    docker_seconds,
    project_copy,
    running_stack,
    tags_of,
    wait_until,
)
from tests.e2e.test_browser import open_page, seen

pytestmark = pytest.mark.usefixtures("docker_ready")

WIND_UP = '''"""A run that winds up after its last step for as long as the test wants."""

import time
from pathlib import Path

import dagster as dg
import pandas as pd


class Remate(dg.ConfigurableResource):
    """Torn down after the run's last step, before its end is recorded: waits until the file
    `rematar` exists in the data directory (or ten minutes pass)."""

    data_dir: str

    def teardown_after_execution(self, context) -> None:
        deadline = time.monotonic() + 600
        while not (Path(self.data_dir) / "rematar").exists() and time.monotonic() < deadline:
            time.sleep(0.1)


@dg.asset(group_name="ciclo")
def rematado(remate: Remate) -> pd.DataFrame:
    return pd.DataFrame({"hecho": [True]})


defs = dg.Definitions(
    assets=[rematado], resources={"remate": Remate(data_dir=dg.EnvVar("VENTAS_DATA_DIR"))}
)
'''

TERMINATE = """mutation($id: String!) { terminateRun(runId: $id) { __typename
    ... on TerminateRunFailure { message } ... on PythonError { message } } }"""
EVENTS = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
    __typename ... on MessageEvent { message timestamp stepKey } } } } }"""


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory):
    source = project_copy(tmp_path_factory.mktemp("lifecycle"))
    add_deploy_assets(source)
    domain = source / "user_code/src/ventas/defs/ciclo"
    domain.mkdir()
    (domain / "__init__.py").touch()
    (domain / "assets.py").write_text(WIND_UP, encoding="utf-8")
    with running_stack("ventas-e2e-lifecycle", project_dir=source) as stack:
        yield stack


def events(stack, run_id: str) -> list[dict]:
    return [e for e in stack.graphql(EVENTS, {"id": run_id})["logsForRun"]["events"] if e]


def of_type(events: list[dict], typename: str) -> list[dict]:
    return [e for e in events if e["__typename"] == typename]


def running_container(stack, run_id: str) -> str:
    """The run's container, once it runs the run."""
    wait_until(lambda: stack.run(run_id)["status"] == "STARTED", 120, f"run {run_id} started")
    return tags_of(stack.run(run_id))["docker/container_id"]


def gone(container: str) -> bool:
    return docker("inspect", container, check=False).returncode != 0


def release(stack, name: str) -> None:
    (stack.data_dir / name).touch()


def test_the_network_facing_services_hold_no_docker_socket_and_reach_no_docker_api(lifecycle):
    containers = lifecycle.containers()
    for service in ("webserver", "user_code", "informes"):
        info = containers[service]
        assert not [m for m in info["Mounts"] if m["Destination"] == "/var/run/docker.sock"]
        assert not [v for v in info["Config"]["Env"] if v.startswith("DOCKER_HOST=")]
    probe = "import docker; docker.from_env().ping()"
    tried = lifecycle.compose("exec", "-T", "webserver", "python", "-c", probe, check=False)
    assert tried.returncode != 0 and "DockerException" in tried.stderr, tried.stderr[-2000:]


def test_terminate_over_graphql_cancels_the_run_and_its_container_is_gone(lifecycle):
    run_id = lifecycle.launch(assets=["espera_lenta"])
    container = running_container(lifecycle, run_id)
    asked = time.monotonic()
    result = lifecycle.graphql(TERMINATE, {"id": run_id})["terminateRun"]
    assert result["__typename"] == "TerminateRunSuccess", result
    run = lifecycle.wait_for_run(run_id, timeout=30, interval=0.1)
    canceled = time.monotonic() - asked
    wait_until(lambda: gone(container), 30, f"container {container[:12]} removed", 0.1)
    removed = time.monotonic() - asked
    print(f"terminateRun -> CANCELED after {canceled:.1f} s, container gone after {removed:.1f} s")
    assert run["status"] == "CANCELED"
    log = lifecycle.run_log(run_id)
    assert "Termination requested: the daemon stops the run's container." in log


@pytest.mark.browser
def test_terminate_in_the_ui_cancels_the_run_and_its_container_is_gone(
    lifecycle,
    browser_image,
    tmp_path,
):
    run_id = lifecycle.launch(assets=["espera_lenta"])
    container = running_container(lifecycle, run_id)
    page = open_page(
        lifecycle,
        browser_image,
        f"/runs/{run_id}",
        ["Canceled"],
        tmp_path / "terminated.png",
        clicks=("Terminate", "Terminate 1 run"),
    )
    assert page["visible"]["Canceled"], seen(page)
    assert lifecycle.wait_for_run(run_id, timeout=30)["status"] == "CANCELED"
    wait_until(lambda: gone(container), 30, f"container {container[:12]} removed", 0.1)


def test_a_run_killed_after_its_last_step_is_the_success_it_was_and_is_not_retried(lifecycle):
    """Killed while winding up, three times: each run SUCCESS, with no failure and no retry."""
    for _ in range(3):
        (lifecycle.data_dir / "rematar").unlink(missing_ok=True)
        run_id = lifecycle.launch(assets=["rematado"])
        container = running_container(lifecycle, run_id)
        step_done = wait_until(
            lambda run_id=run_id: [
                e
                for e in events(lifecycle, run_id)
                if e["__typename"] == "ExecutionStepSuccessEvent"
            ],
            120,
            "the run's last step to succeed",
            0.1,
        )[0]
        docker("kill", container)
        state = json.loads(docker("inspect", "--format", "{{json .State}}", container).stdout)
        killed_at = docker_seconds(state["FinishedAt"])

        run = lifecycle.wait_for_run(run_id, timeout=120)
        ended = of_type(events(lifecycle, run_id), "RunSuccessEvent")
        # Killed after the last step, and before the run worker recorded the end.
        assert float(step_done["timestamp"]) / 1000 < killed_at, (step_done, state)
        assert state["ExitCode"] == 137 and run["status"] == "SUCCESS", lifecycle.run_log(run_id)
        (success,) = ended
        assert float(success["timestamp"]) / 1000 > killed_at
        assert success["message"].startswith("Every step of this run had succeeded when its")
        assert not of_type(events(lifecycle, run_id), "RunFailureEvent")
        assert not lifecycle.runs(tags={"dagster/parent_run_id": run_id})  # nothing retried
        wait_until(lambda container=container: gone(container), 30, "the container removed")


def test_a_daemon_replaced_after_a_crash_removes_what_the_old_one_left_waiting(lifecycle):
    """A daemon killed outright removes nothing. Once Compose has replaced its container (not
    restarted it), the container the old one started ahead of a run, which no daemon would
    hand a run, is removed by the new one; and runs go on."""
    lifecycle.wait_for_run(lifecycle.launch())
    left = wait_until(lifecycle.standbys, 60, "a container started ahead of the next run")
    old = lifecycle.containers()["daemon"]["Id"]
    docker("rm", "--force", old)  # SIGKILL: no clean stop
    assert all(docker("inspect", id, check=False).returncode == 0 for id in left)
    with docker_events("type=container", "event=destroy") as destroyed:
        lifecycle.up("daemon")
        new = lifecycle.containers()["daemon"]
        assert new["Id"] != old
        wait_until(lambda: all(gone(id) for id in left), 30, "the old daemon's standbys gone")
    started = docker_seconds(new["State"]["StartedAt"])
    # Removed after the new daemon started: by it, not by the old one's exit.
    removed = {e["id"][:12] for e in destroyed if e["timeNano"] / 1e9 >= started}
    assert removed >= {id[:12] for id in left}
    assert lifecycle.wait_for_run(lifecycle.launch())["status"] == "SUCCESS"


def test_down_with_a_run_in_flight_ends_it_and_leaves_nothing_behind(lifecycle):
    run_id = lifecycle.launch(assets=["espera_lenta"])
    container = running_container(lifecycle, run_id)
    down_at = time.time()
    down = lifecycle.compose("down", check=False)
    assert down.returncode == 0, down.stderr[-3000:]
    left = lifecycle.resources_left()
    assert (left["containers"], left["run containers"], left["networks"]) == ([], [], [])
    # Nor the container started ahead of the next run: the daemon removes it as it stops.
    assert left["standbys"] == []
    assert gone(container)

    # Its history kept, the run reads as what happened: canceled by the daemon's stop, after
    # `down` began (its end as Postgres recorded it), never left STARTED.
    lifecycle.up()
    run = lifecycle.run(run_id)
    assert run["status"] == "CANCELED" and run["endTime"] > down_at, run
    assert "Canceled because the stack stopped" in lifecycle.run_log(run_id)

    running_container(lifecycle, lifecycle.launch(assets=["espera_lenta"]))
    down = lifecycle.compose("down", "--volumes", check=False)
    assert down.returncode == 0, down.stderr[-3000:]
    left = lifecycle.resources_left()
    assert {kind: ids for kind, ids in left.items() if kind != "images" and ids} == {}
