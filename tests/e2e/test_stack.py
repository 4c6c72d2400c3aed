"""The stack as a user meets it: `docker compose up`, the UI's API, runs, restarts."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import requests

from stack import standby
from tests.e2e.compose_stack import (
    LOCATION_QUERY,
    LOCATIONS,
    SAMPLE_DATA,
    GraphQLError,
    docker,
    docker_events,
    docker_seconds,
    running_stack,
    tags_of,
    wait_until,
)
from tests.sales import tutorial_results

CODE_SERVERS = ("user_code", "informes", "plataforma")
SERVICES = {"postgres", *CODE_SERVERS, "webserver", "daemon"}
ASSETS = {
    "ventas_raw",
    "ventas_procesadas",
    "ventas_por_categoria",
    "ventas_por_producto",
    "ventas_por_dia",
    "usuarios",
    "ventas_completas",
    "ventas_diarias",
}


def wait_gone(container_id: str) -> None:
    wait_until(
        lambda: docker("inspect", container_id, check=False).returncode != 0,
        30,
        f"run container {container_id[:12]} to be removed",
        interval=0.5,
    )


def test_every_service_is_healthy_after_the_schema_migration_ran_once(stack):
    containers = stack.containers()
    assert set(containers) == SERVICES | {"migrate"}
    migrate = containers.pop("migrate")["State"]
    assert (migrate["Status"], migrate["ExitCode"]) == ("exited", 0)
    for service, info in containers.items():
        assert info["State"]["Status"] == "running", service
        assert info["State"]["Health"]["Status"] == "healthy", service


def test_only_the_ui_is_published_and_only_on_loopback(stack):
    published = {
        service: [
            b
            for bindings in (info["NetworkSettings"]["Ports"] or {}).values()
            for b in bindings or []
        ]
        for service, info in stack.containers().items()
    }
    assert published["webserver"] == [{"HostIp": "127.0.0.1", "HostPort": str(stack.port)}]
    assert all(not bindings for service, bindings in published.items() if service != "webserver")


def test_code_location_loads_with_the_ventas_assets_and_job(stack):
    location = stack.wait_for_location()
    (repo,) = location["repositories"]
    assets = {"/".join(node["assetKey"]["path"]) for node in repo["assetNodes"]}
    assert assets >= ASSETS
    assert "procesar_ventas" in {job["name"] for job in repo["jobs"]}


def test_procesar_ventas_succeeds_in_its_own_container_which_is_then_removed(stack):
    run = stack.wait_for_run(stack.launch("procesar_ventas"))
    assert run["status"] == "SUCCESS", stack.logs()

    tags = tags_of(run)
    container_id = tags["docker/container_id"]
    service_ids = {info["Id"] for info in stack.containers().values()}
    assert container_id not in service_ids
    assert tags["dagster/image"] == f"{stack.project}-user_code"
    wait_gone(container_id)
    assert_sample_outputs(stack)


def test_the_next_run_starts_in_a_container_started_ahead_of_it_with_the_code_loaded(stack):
    first = stack.wait_for_run(stack.launch("procesar_ventas"))
    assert first["status"] == "SUCCESS"
    # The daemon has started a container of the location for its next run (one per job's
    # limits: a job with limits of its own has its own), which imports what a run needs.
    ahead = {info["Id"]: info for info in waiting(stack)}

    run_id = stack.launch("procesar_ventas")
    run = stack.wait_for_run(run_id)
    assert run["status"] == "SUCCESS", stack.run_log(run_id)
    # The run was handed to one of them, which was running before the run existed.
    taken = ahead[tags_of(run)["docker/container_id"]]
    created = stack.graphql(
        "query($id: ID!) { runOrError(runId: $id) { ... on Run { creationTime } } }",
        {"id": run_id},
    )["runOrError"]["creationTime"]
    assert docker_seconds(taken["State"]["StartedAt"]) < created
    assert "started ahead of it with the code loaded" in stack.run_log(run_id)
    assert_sample_outputs(stack)
    # One run per container: it goes as any run's container goes, and another one waits.
    wait_gone(taken["Id"])
    key = taken["Config"]["Labels"][standby.KEY_LABEL]
    (after,) = wait_until(
        lambda: [i for i in waiting(stack) if i["Config"]["Labels"][standby.KEY_LABEL] == key],
        60,
        "the next container started ahead",
    )
    assert after["Id"] != taken["Id"]


def waiting(stack) -> list[dict]:
    """docker inspect of the containers started ahead of a run of ventas that wait for one."""
    ids = stack.standbys()
    return [
        info
        for info in (json.loads(docker("inspect", *ids).stdout) if ids else [])
        if info["Config"]["Image"] == f"{stack.project}-user_code"
    ]


def assert_sample_outputs(stack) -> None:
    """The outputs of procesar_ventas on the sample are the tutorial's, computed apart."""
    expected = tutorial_results(SAMPLE_DATA / "ventas.csv")
    expected_clean = expected["ventas_procesadas"]
    expected_per_category = expected["ventas_por_categoria"].astype({"categoria": "str"})
    expected_per_category = expected_per_category.set_index("categoria")["total"]
    output = stack.data_dir / "output"
    procesadas = pd.read_parquet(output / "ventas_procesadas.parquet")
    assert len(procesadas) == len(expected_clean) > 0
    assert procesadas["total"].sum() == pytest.approx(expected_clean["total"].sum())
    assert not procesadas.isna().any().any()
    por_categoria = pd.read_parquet(output / "ventas_por_categoria.parquet")
    got = por_categoria.astype({"categoria": "str"}).set_index("categoria")["total"]
    pd.testing.assert_series_equal(got, expected_per_category, check_names=False)


def test_what_a_run_printed_stays_readable_in_the_ui_after_its_container_is_gone(stack):
    run_id = stack.launch("procesar_ventas")
    run = stack.wait_for_run(run_id)
    wait_gone(tags_of(run)["docker/container_id"])

    events = stack.graphql(
        "query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {"
        " __typename ... on LogsCapturedEvent { fileKey } } } } }",
        {"id": run_id},
    )
    (file_key,) = [
        e["fileKey"]
        for e in events["logsForRun"]["events"]
        if e["__typename"] == "LogsCapturedEvent"
    ]
    logs = stack.graphql(
        "query($key: [String!]!) { capturedLogs(logKey: $key) { stderr } }",
        {"key": [run_id, "compute_logs", file_key]},
    )["capturedLogs"]
    assert 'Started execution of step "ventas_raw"' in logs["stderr"]
    assert 'Started execution of step "ventas_por_categoria"' in logs["stderr"]


def test_run_history_survives_down_and_up(stack):
    run_id = stack.launch("procesar_ventas")
    assert stack.wait_for_run(run_id)["status"] == "SUCCESS"

    stack.compose("down", "--timeout", "10")
    assert not stack.containers()
    stack.up()
    stack.wait_for_location()

    assert stack.run(run_id)["status"] == "SUCCESS"
    # The same images found the schema as they left it: nothing to load or migrate.
    assert (
        "this image's Dagster and configuration migrated it last"
        in stack.compose("logs", "--no-color", "migrate").stdout
    )


def test_no_location_shows_as_failed_while_the_stack_starts_nor_after_up_wait(stack):
    """Two restarts with the UI read all along: never a location in error, every one loaded
    the instant `up --wait` returns, and the UI started only once the code servers answered
    (by Docker's own record of both)."""
    for _ in range(2):
        stack.compose("down", "--timeout", "10")
        errors = []
        with docker_events(f"label=com.docker.compose.project={stack.project}") as events:
            with ThreadPoolExecutor(max_workers=1) as pool:
                up = pool.submit(stack.up)
                while not up.done():
                    try:
                        entries = locations(stack)
                    except (requests.RequestException, GraphQLError):
                        continue  # not serving yet
                    errors += [n for n, typename in entries.items() if typename == "PythonError"]
                    time.sleep(0.05)
                up.result()
            assert locations(stack) == dict.fromkeys(LOCATIONS, "RepositoryLocation")
        assert not errors, errors
        healthy = {
            e["Actor"]["Attributes"]["com.docker.compose.service"]: e["timeNano"]
            for e in events
            if e["Action"] == "health_status: healthy"
        }
        started = {
            e["Actor"]["Attributes"]["com.docker.compose.service"]: e["timeNano"]
            for e in events
            if e["Action"] == "start"
        }
        order = [
            (e["Action"], e["Actor"]["Attributes"].get("com.docker.compose.service"))
            for e in events
        ]
        assert set(CODE_SERVERS) <= set(healthy) and "webserver" in started, order
        assert all(healthy[name] < started["webserver"] for name in CODE_SERVERS), order


def locations(stack) -> dict[str, str]:
    """Each location's name and what the UI has for it: RepositoryLocation or PythonError."""
    workspace = stack.graphql(LOCATION_QUERY, timeout=5)["workspaceOrError"]
    return {
        entry["name"]: entry["locationOrLoadError"]["__typename"]
        for entry in workspace["locationEntries"]
    }


def test_runs_succeed_right_after_postgres_restarts(stack):
    """Pooled connections go stale when Postgres restarts; the next launches must not fail."""

    def failed_runs() -> list[dict]:
        return stack.graphql(
            "{ runsOrError(filter: {statuses: [FAILURE]}) { ... on Runs { results { runId } } } }"
        )["runsOrError"]["results"]

    failed_before = failed_runs()
    stack.compose("restart", "postgres")
    stack.up("postgres")  # waits until it is healthy again

    runs = [stack.wait_for_run(stack.launch("procesar_ventas")) for _ in range(2)]

    assert [r["status"] for r in runs] == ["SUCCESS", "SUCCESS"]
    assert failed_runs() == failed_before


def test_a_second_stack_runs_beside_the_first_and_tear_down_leaves_nothing(stack):
    """Two stacks on one host, the second writing as the user VENTAS_UID and VENTAS_GID
    name rather than as the data directory's owner; a failing test still removes all of
    its stack."""
    # The failure must come from inside the stack's block, so the block holds the whole test.
    with (  # noqa: PT012
        pytest.raises(RuntimeError, match="simulated failure"),
        running_stack(
            "ventas-e2e-second",
            data_mode=0o777,
            extra_env={"VENTAS_UID": "4242", "VENTAS_GID": "4343"},
        ) as second,
    ):
        assert second.port != stack.port
        assert second.wait_for_run(second.launch("procesar_ventas"))["status"] == "SUCCESS"
        output = second.data_dir / "output" / "ventas_por_categoria.parquet"
        assert (output.stat().st_uid, output.stat().st_gid) == (4242, 4343)

        run_id = second.launch("procesar_ventas")
        # Fail while the run's container exists: tear-down has it to remove.
        wait_until(second.run_containers, 120, "the run's container", interval=0.1)
        raise RuntimeError("simulated failure")

    assert second.resources_left() == {
        "containers": [],
        "run containers": [],
        "standbys": [],
        "volumes": [],
        "networks": [],
        "images": [],
    }
    assert not second.data_dir.exists()
    # The first stack neither saw the second's runs nor suffered from their removal.
    assert stack.run(run_id)["__typename"] == "RunNotFoundError"
    assert stack.wait_for_run(stack.launch("procesar_ventas"))["status"] == "SUCCESS"
