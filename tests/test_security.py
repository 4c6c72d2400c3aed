"""Least privilege: what each container may do, and who can reach the stack."""

import json

from compose_stack import docker, wait_until

SOCKET = "/var/run/docker.sock"


def mounts(info: dict) -> set[str]:
    return {m["Destination"] for m in info["Mounts"]}


def hardened(info: dict) -> bool:
    host = info["HostConfig"]
    return host["CapDrop"] == ["ALL"] and "no-new-privileges:true" in (host["SecurityOpt"] or [])


def test_only_the_services_that_start_or_stop_runs_hold_the_docker_socket(stack):
    containers = stack.containers()
    holders = {s for s, info in containers.items() if SOCKET in mounts(info)}
    assert holders == {"webserver", "daemon"}
    assert all(hardened(info) for s, info in containers.items() if s != "postgres")


def test_user_code_runs_as_an_unprivileged_user(stack):
    user_code = stack.containers()["user_code"]
    assert user_code["Config"]["User"] == "1000:1000"
    uid = docker("exec", user_code["Id"], "id", "-u").stdout.strip()
    assert uid == "1000"


def test_a_run_container_is_unprivileged_has_no_socket_and_removes_itself(stack):
    run_id = stack.launch("procesar_ventas")
    container = wait_until(
        lambda: docker("ps", "-q", "--filter", f"label=dagster/run_id={run_id}").stdout.strip(),
        60, "the run's container", interval=0.05)
    info = docker("inspect", "--format", "{{json .}}", container, check=False).stdout
    assert stack.wait_for_run(run_id)["status"] == "SUCCESS"

    info = json.loads(info)
    assert info["Config"]["User"] == "1000:1000"
    assert SOCKET not in mounts(info)
    assert mounts(info) == {"/opt/dagster/data", "/opt/dagster/compute_logs"}
    assert hardened(info) and info["HostConfig"]["AutoRemove"]
