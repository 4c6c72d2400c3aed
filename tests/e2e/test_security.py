"""Least privilege: what each container may do, and who can reach the stack."""

import json

from tests.e2e.compose_stack import docker, sales_from, tags_of, wait_until, writing

SOCKET = "/var/run/docker.sock"
# Only to switch to the data directory's owner at start; deploy/as-data-owner drops them.
SWITCH_USER = ["SETUID", "SETGID", "SETPCAP"]


def mounts(info: dict) -> set[str]:
    return {m["Destination"] for m in info["Mounts"]}


def hardened(info: dict) -> bool:
    host = info["HostConfig"]
    return host["CapDrop"] == ["ALL"] and "no-new-privileges:true" in (host["SecurityOpt"] or [])


def runs_as_owner_without_capabilities(status: str, data_dir) -> bool:
    """/proc/<pid>/status of a process: the data directory's owner, no capability at all."""
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    owner = data_dir.stat()
    return (
        fields["Uid"].split() == [str(owner.st_uid)] * 4
        and fields["Gid"].split() == [str(owner.st_gid)] * 4
        and all(int(fields[c], 16) == 0 for c in ("CapInh", "CapPrm", "CapEff", "CapBnd"))
    )


def test_only_the_daemon_holds_the_docker_socket(stack):
    containers = stack.containers()
    holders = {s for s, info in containers.items() if SOCKET in mounts(info)}
    assert holders == {"daemon"}
    assert all(hardened(info) for s, info in containers.items() if s != "postgres")
    added = {s: info["HostConfig"]["CapAdd"] for s, info in containers.items() if s != "postgres"}
    assert added == {
        "user_code": SWITCH_USER,
        "informes": SWITCH_USER,
        "plataforma": SWITCH_USER,
        "webserver": None,
        "daemon": None,
        "migrate": None,
    }


def test_the_code_server_runs_as_the_data_directorys_owner_with_no_capability(stack):
    status = stack.compose("exec", "-T", "user_code", "cat", "/proc/1/status").stdout
    assert runs_as_owner_without_capabilities(status, stack.data_dir), status


def test_a_run_container_runs_as_the_owner_with_no_socket_and_is_removed_after(stack, big_sales):
    with sales_from(stack, big_sales):
        run_id = stack.launch("procesar_ventas")
        writing(stack, "ventas_raw")  # the run's code is running, with seconds of work left
        # A new container, or one started ahead of the run: the run's tag names it.
        container = tags_of(stack.run(run_id))["docker/container_id"]
        info = json.loads(docker("inspect", "--format", "{{json .}}", container).stdout)
        status = docker("exec", container, "cat", "/proc/1/status").stdout
        assert stack.run(run_id)["status"] == "STARTED"  # all of it read from the live run
        assert stack.wait_for_run(run_id, timeout=300)["status"] == "SUCCESS"

    assert runs_as_owner_without_capabilities(status, stack.data_dir), status
    assert info["Config"]["User"] == ""  # starts as root only to switch to the owner
    assert info["HostConfig"]["CapAdd"] == SWITCH_USER
    assert SOCKET not in mounts(info)
    assert mounts(info) == {"/opt/dagster/data", "/opt/dagster/compute_logs"}
    assert hardened(info)
    wait_until(  # by the daemon, once the run has ended
        lambda: docker("inspect", container, check=False).returncode != 0, 30, "its removal"
    )
    # The settings' defaults: 2g of memory without swap, 1.5 CPUs, 1024 processes.
    host = info["HostConfig"]
    limits = (host["Memory"], host["MemorySwap"], host["NanoCpus"], host["PidsLimit"])
    assert limits == (2 * 1024**3, 2 * 1024**3, 1_500_000_000, 1024)
