"""The daemon's health, from the heartbeats its daemons write (scheduler, sensors, run queue,
run monitoring, ...): a thread in `stack-daemon` reads them every few seconds.

While every daemon the instance needs has written one within DAGSTER_DAEMON_HEARTBEAT_TOLERANCE
seconds (default 120, as the monitoring profile's alert), it touches HEALTH_FILE, which the
container's health check looks at: `docker compose ps` shows a stalled daemon as unhealthy
within half a minute. Once one has been silent longer than that, the process exits, so that
`restart: unless-stopped` starts a fresh daemon; runs in flight go on in their containers and
the new daemon takes them up. Dagster's own `liveness-check` waits 30 minutes for the same.

While the database cannot be read the file is not touched (unhealthy), but nothing exits: a
new daemon would not bring Postgres back.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from dagster import DagsterInstance

HEALTH_FILE = Path("/tmp/daemon-healthy")
# Seconds between two looks; the health check accepts a file this old three times over.
CHECK_INTERVAL = 5
DEFAULT_TOLERANCE = 120
# Dagster writes a heartbeat every 30 s: a tolerance below that would restart a healthy daemon.
MIN_TOLERANCE = 60

log = logging.getLogger("stack.heartbeats")


def tolerance_from(environ: Mapping[str, str]) -> int:
    value = environ.get("DAGSTER_DAEMON_HEARTBEAT_TOLERANCE", "").strip() or str(DEFAULT_TOLERANCE)
    if not value.isdigit() or int(value) < MIN_TOLERANCE:
        raise SystemExit(
            f"DAGSTER_DAEMON_HEARTBEAT_TOLERANCE={value!r} is not a whole number of seconds from "
            f"{MIN_TOLERANCE} up (daemons write a heartbeat every 30 s); use {DEFAULT_TOLERANCE}, "
            "the default, or more."
        )
    return int(value)


class HeartbeatWatch:
    def __init__(
        self,
        instance: DagsterInstance,
        tolerance: int,
        health_file: Path = HEALTH_FILE,
        clock: Callable[[], float] = time.time,
    ):
        self.instance = instance
        self.tolerance = tolerance
        self.health_file = health_file
        self.clock = clock
        self.check_interval = CHECK_INTERVAL
        # A daemon that just started has had no chance to beat yet: its silence counts from now.
        self.started = clock()

    def silent(self) -> dict[str, float]:
        """Seconds since the last heartbeat of each needed daemon silent beyond the tolerance."""
        now, beats = self.clock(), self.instance.get_daemon_heartbeats()
        silent = {}
        for daemon in self.instance.get_required_daemon_types():
            beat = beats.get(daemon)
            last = max(beat.timestamp if beat else 0.0, self.started)
            if now - last > self.tolerance:
                silent[daemon] = now - last
        return silent

    def check(self) -> bool:
        """One look: touch the health file and return True while every daemon beats."""
        try:
            silent = self.silent()
        except Exception:  # the database is away: unhealthy, not restarted
            log.warning("cannot read the daemons' heartbeats", exc_info=True)
            return True
        if silent:
            names = ", ".join(f"{name} ({age:.0f} s)" for name, age in sorted(silent.items()))
            print(
                f"stack-daemon: no heartbeat within {self.tolerance} s from {names}; exiting so "
                "that Docker starts a fresh daemon (DAGSTER_DAEMON_HEARTBEAT_TOLERANCE).",
                file=sys.stderr,
                flush=True,
            )
            return False
        self.health_file.touch()
        return True

    def watch(self, stopping: threading.Event, exit: Callable[[int], object] = os._exit) -> None:
        while not stopping.wait(self.check_interval):
            if not self.check():
                exit(1)
