"""Whoever owns the data directory, the code server and every run write as that user, with no
setting to change and no capability left; VENTAS_UID and VENTAS_GID still name another."""

import pytest

from tests.e2e.compose_stack import as_root, running_stack, wait_until
from tests.sales import HEADER

pytestmark = pytest.mark.usefixtures("docker_ready")

# uid 1000, a host's usual first user, takes the same path as any other uid: the images
# create no user of their own.
OWNERS = {"root": (0, 0), "an unusual uid": (4242, 4343)}


def owner_of(path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid


def process_status(stack, service: str) -> dict[str, str]:
    """/proc/1/status of a service's container: who its main process runs as, with what."""
    text = stack.compose("exec", "-T", service, "cat", "/proc/1/status").stdout
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


@pytest.mark.parametrize("owner", OWNERS.values(), ids=OWNERS)
def test_outputs_archives_and_processes_belong_to_the_data_directorys_owner(owner):
    uid, gid = owner
    with running_stack(
        "ventas-e2e-owner", data_owner=owner, extra_env={"VENTAS_SENSOR_INTERVAL": "1"}
    ) as stack:
        status = process_status(stack, "user_code")
        assert status["Uid"].split() == [str(uid)] * 4 and status["Gid"].split() == [str(gid)] * 4
        assert int(status["CapEff"], 16) == int(status["CapBnd"], 16) == 0

        run = stack.wait_for_run(stack.launch("procesar_ventas"))
        assert run["status"] == "SUCCESS", stack.run_log(run["runId"])
        written = [stack.data_dir / "output", *(stack.data_dir / "output").rglob("*")]
        assert len(written) > 5
        assert {path.name: owner_of(path) for path in written} == {
            path.name: owner for path in written
        }

        # The code server moves an ingested file to archive/, a folder it creates.
        # The file is the owner's, as one a user drops in would be.
        as_root(
            stack.data_dir,
            "sh",
            "-c",
            f"printf '{HEADER.strip()}\\n2024-06-01,Cafe,Hogar,4.60,2,17\\n' > /data/.nuevas.csv"
            f" && chown {uid}:{gid} /data/.nuevas.csv"
            " && mv /data/.nuevas.csv /data/incoming/nuevas.csv",
        )
        archived = stack.data_dir / "archive" / "nuevas.csv"
        wait_until(archived.exists, 120, "the dropped file in data/archive/")
        assert owner_of(archived.parent) == owner == owner_of(archived)
