"""Run containers started ahead of their runs: standbys.

A run's container spends about 2.5 s before its run starts: Docker starts it (0.4-0.7 s),
then Python imports Dagster, dagster-postgres and the location's code (about 2 s). That is
most of what a small run costs (docs/benchmarks.md). A standby is a container of the
location's image, with everything a run container of that location gets (network, volumes,
user, limits, labels), that does that much and waits. The run launcher hands the next run
of the location to it, as the arguments `dagster api execute_run` would get, and starts
another standby for the run after. Each container still runs one run and ends with it.

A run starts in a new container, as before, when no standby fits: the first run of a
location, a run launched while its standby is taken, a location redeployed since (its image
changed), a job with limits of its own (its tags), or with standbys turned off
(DAGSTER_RUN_STANDBY_SECONDS=0).

A standby nobody took exits after DAGSTER_RUN_STANDBY_SECONDS (default 600): memory is held
only while runs come. The daemon removes the standbys that exited and those of an image
since replaced (stack.run_containers), and all of its own when it stops.

`python -m stack.standby` is a standby's command.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import secrets
import socket
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

# Labels: what a standby was started for (the key), which daemon started it, and the image
# by the name the location gives it (which a redeploy moves to a new image).
KEY_LABEL = "stack.standby"
DAEMON_LABEL = "stack.standby.daemon"
IMAGE_LABEL = "stack.standby.image"
# A waiting standby's name; taking a run renames it after the run, which is how the daemon
# finds the run's container (stack.run_containers) and how two launches never take one.
WAITING = "stack-standby-"
TAKEN = "stack-run-"
# Where the launcher puts the run's arguments in the container, then the signal to go.
HANDOVER = Path("/tmp")
ARGS_FILE, GO_FILE = "stack-run-args.json", "stack-run-go"
IDLE_ENV = "DAGSTER_RUN_STANDBY_SECONDS"
POLL_SECONDS = 0.05
# A standby starts while the run before it runs: it gets the CPU that run leaves (Docker's
# least weight against its 1024), and the run's weight once it takes one.
WAITING_CPU_SHARES, RUN_CPU_SHARES = 2, 1024

# Launches run on several threads of the daemon: one takes a standby at a time.
_taking = threading.Lock()


def daemon_id() -> str:
    """This daemon's container (its host name): the standbys it started carry it."""
    return socket.gethostname()


def key(image_id: str, env_vars: list[str], networks: list[str], create: dict) -> str:
    """What a standby must match to take a run: the image itself (not its tag, which a
    redeploy moves), and what its container was created with. The environment is named, not
    copied: its values come from the daemon's, and a daemon that restarts removes its
    standbys."""
    spec = json.dumps(
        {
            "image": image_id,
            "env": sorted(env_vars),
            "networks": networks,
            **{name: value for name, value in create.items() if name != "environment"},
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def take(client: Any, standby_key: str, run_id: str) -> Any | None:
    """A waiting standby with this key, renamed after the run; None if there is none."""
    with _taking:
        for container in waiting(client, standby_key):
            try:
                container.rename(TAKEN + run_id)
            except Exception:  # noqa: BLE001 - gone meanwhile: try the next
                continue
            return container
    return None


def waiting(client: Any, standby_key: str) -> list[Any]:
    return client.containers.list(
        filters={
            "label": [f"{KEY_LABEL}={standby_key}", f"{DAEMON_LABEL}={daemon_id()}"],
            "name": WAITING,
            "status": "running",
        }
    )


def hand_over(container: Any, execute_run_args: str, cpu_shares: int | None) -> None:
    """Give a taken standby its run: a run container's share of the CPU, the arguments, then
    the signal to read them."""
    container.update(cpu_shares=cpu_shares or RUN_CPU_SHARES)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in ((ARGS_FILE, execute_run_args.encode()), (GO_FILE, b"")):
            member = tarfile.TarInfo(name)
            member.size, member.mode, member.mtime = len(data), 0o644, int(time.time())
            tar.addfile(member, io.BytesIO(data))
    container.put_archive(str(HANDOVER), archive.getvalue())


def start(
    client: Any, standby_key: str, image: str, create: dict, more_networks: list[str], idle: int
) -> None:
    """Start a standby for `standby_key`, unless one is waiting already. `create` is what
    the location's run containers are created with (network, volumes, labels, limits,
    environment); `more_networks` those they join after."""
    with _taking:
        if waiting(client, standby_key):
            return
        container = client.containers.create(
            image=image,
            command=["python", "-m", "stack.standby"],
            name=WAITING + secrets.token_hex(6),
            detach=True,
            **{
                **create,
                "labels": {
                    **create["labels"],
                    KEY_LABEL: standby_key,
                    DAEMON_LABEL: daemon_id(),
                    IMAGE_LABEL: image,
                },
                "environment": {**create["environment"], IDLE_ENV: str(idle)},
                "cpu_shares": WAITING_CPU_SHARES,
            },
        )
    for network in more_networks:
        client.networks.get(network).connect(container)
    container.start()


def main() -> int:
    """A standby: import what a run needs, wait for a run, run it; or exit once idle."""
    idle = float(os.environ.get(IDLE_ENV) or 600)
    # Imported now, before any run: what `dagster api execute_run` imports, the instance's
    # storage and launcher, and the location's code (whose error, if it has one, the run
    # meets again and reports).
    from dagster import deserialize_value

    import stack.launcher
    import stack.storage  # noqa: F401
    from stack.compat import ExecuteRunArgs, execute_run_command

    if location := os.environ.get("DAGSTER_LOCATION_NAME"):
        with contextlib.suppress(Exception):
            importlib.import_module(f"{location}.definitions")
    go, deadline = HANDOVER / GO_FILE, time.monotonic() + idle
    while not go.exists():
        if time.monotonic() > deadline:
            return 0
        time.sleep(POLL_SECONDS)
    args = (HANDOVER / ARGS_FILE).read_text()
    # What a run container has in its environment from the start.
    os.environ["DAGSTER_RUN_JOB_NAME"] = deserialize_value(args, ExecuteRunArgs).job_origin.job_name
    execute_run_command.main(args=[args], prog_name="dagster api execute_run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
