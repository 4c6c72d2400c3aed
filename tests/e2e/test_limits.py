"""Limits: every run container has a memory, CPU and process ceiling, from the settings or its
job's tags; a run killed at its memory limit fails saying so, and nothing else suffers; the
long-lived services have ceilings too."""

import time

import docker as docker_client

from tests.e2e.compose_stack import docker_seconds, sales_from, tags_of, wait_until

GIB = 1024**3
RUN_FAILURE = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
    __typename ... on RunFailureEvent { message } } } } }"""


def failure_message(stack, run_id: str) -> str:
    events = stack.graphql(RUN_FAILURE, {"id": run_id})["logsForRun"]["events"]
    (message,) = [e["message"] for e in events if e["__typename"] == "RunFailureEvent"]
    return message


def retry_decision(stack, run_id: str) -> str:
    """The run's `dagster/will_retry` tag, which Dagster writes just after the run's status
    turns to FAILURE."""
    return wait_until(
        lambda: tags_of(stack.run(run_id)).get("dagster/will_retry"), 30, "the retry decision"
    )


def test_every_long_lived_service_has_a_ceiling(stack):
    for service, info in stack.containers().items():
        host = info["HostConfig"]
        assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (GIB, 10**9, 512), service


def test_a_run_over_its_memory_limit_fails_saying_so_every_time_and_nothing_else_suffers(
    stack, big_sales
):
    """Six runs killed at their memory limit, four at a time: each one's first line says so.
    (Docker reports the kill and the container's exit in either order; the container stays
    until the verdict is written.)"""
    before = {s: c["RestartCount"] for s, c in stack.containers().items()}
    with sales_from(stack, big_sales):  # a few hundred MB to hold: more than 300m allows
        run_ids = [
            stack.launch("procesar_ventas", tags={"stack/run_memory": "300m"}) for _ in range(6)
        ]
        runs = [stack.wait_for_run(run_id, timeout=300) for run_id in run_ids]
    for run in runs:
        assert run["status"] == "FAILURE", stack.run_log(run["runId"])
        first_line = failure_message(stack, run["runId"]).splitlines()[0]
        assert first_line.startswith(
            "Out of memory: the run used all of its memory limit of 300m and was killed."
        ), first_line
        assert "DAGSTER_RUN_MEMORY" in first_line and "stack/run_memory" in first_line
        assert retry_decision(stack, run["runId"]) == "false"  # it would run out again
    wait_until(lambda: not stack.run_containers(), 60, "the run containers removed")

    services = stack.containers()
    assert {s: c["RestartCount"] for s, c in services.items()} == before
    assert all(
        c["State"]["Health"]["Status"] == "healthy" for s, c in services.items() if s != "migrate"
    )
    assert stack.wait_for_run(stack.launch("procesar_ventas"))["status"] == "SUCCESS"


def test_the_out_of_memory_verdict_holds_when_docker_no_longer_has_the_event(stack, big_sales):
    """Docker keeps its last 256 events only, and health checks alone make several a second:
    the daemon is paused while a run runs out of memory, then more than 256 events pass, so
    that the kill is gone from Docker's events when run monitoring judges the run. Its
    container, kept until the verdict, still says how it ended."""
    client = docker_client.from_env()
    with sales_from(stack, big_sales):
        run_id = stack.launch("procesar_ventas", tags={"stack/run_memory": "300m"})
        wait_until(lambda: stack.run(run_id)["status"] == "STARTED", 120, "the run started")
        container = client.containers.get(tags_of(stack.run(run_id))["docker/container_id"])
        stack.compose("pause", "daemon")
        try:

            def exited() -> dict | None:
                container.reload()
                return container.attrs["State"] if container.status == "exited" else None

            state = wait_until(exited, 120, "the run to run out of memory")
            died = int(docker_seconds(state["FinishedAt"]))
            for _ in range(150):  # two events each
                client.networks.create(f"{stack.project}-flood").remove()
            left = client.events(
                since=died - 60,
                until=int(time.time()),
                decode=True,
                filters={"container": container.id},
            )
            assert not [e for e in left if e.get("Action") == "oom"]  # gone from Docker's events
        finally:
            stack.compose("unpause", "daemon")
        run = stack.wait_for_run(run_id, timeout=120)
    # Paused, the daemon could not show it was alive: the stack is left as it was found.
    wait_until(
        lambda: stack.containers()["daemon"]["State"]["Health"]["Status"] == "healthy",
        60,
        "the daemon healthy again",
    )
    assert state["OOMKilled"] and run["status"] == "FAILURE"
    first_line = failure_message(stack, run_id).splitlines()[0]
    assert first_line.startswith("Out of memory: the run used all of its memory limit of 300m")
