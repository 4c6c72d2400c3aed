"""Limits: every run container has a memory, CPU and process ceiling, from the settings or its
job's tags; a run killed at its memory limit fails saying so, and nothing else suffers; the
long-lived services have ceilings too."""

from tests.e2e.compose_stack import sales_from, tags_of

GIB = 1024**3
RUN_FAILURE = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
    __typename ... on RunFailureEvent { message } } } } }"""


def failure_message(stack, run_id: str) -> str:
    events = stack.graphql(RUN_FAILURE, {"id": run_id})["logsForRun"]["events"]
    (message,) = [e["message"] for e in events if e["__typename"] == "RunFailureEvent"]
    return message


def test_every_long_lived_service_has_a_ceiling(stack):
    for service, info in stack.containers().items():
        host = info["HostConfig"]
        assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (GIB, 10**9, 512), service


def test_a_run_over_its_memory_limit_fails_saying_so_and_nothing_else_suffers(stack, big_sales):
    before = {s: c["RestartCount"] for s, c in stack.containers().items()}
    with sales_from(stack, big_sales):  # a few hundred MB to hold: more than 300m allows
        run_id = stack.launch("procesar_ventas", tags={"ventas/run_memory": "300m"})
        run = stack.wait_for_run(run_id, timeout=180)
    assert run["status"] == "FAILURE"
    first_line = failure_message(stack, run_id).splitlines()[0]
    assert first_line.startswith(
        "Out of memory: the run used all of its memory limit of 300m and was killed."
    ), first_line
    assert "DAGSTER_RUN_MEMORY" in first_line and "ventas/run_memory" in first_line
    assert tags_of(stack.run(run_id))["dagster/will_retry"] == "false"  # it would run out again

    services = stack.containers()
    assert {s: c["RestartCount"] for s, c in services.items()} == before
    assert all(
        c["State"]["Health"]["Status"] == "healthy" for s, c in services.items() if s != "migrate"
    )
    assert stack.wait_for_run(stack.launch("procesar_ventas"))["status"] == "SUCCESS"
