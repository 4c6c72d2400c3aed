"""The daemon takes up a queued run or a new backfill as soon as it is stored, instead of at
its next pass: the queue's comes every second (0.4 to 0.9 s of waiting, here), the backfills'
every two.

stack.storage notifies Postgres when a run is queued or ends and when a backfill is requested.
Here a thread listens on a connection of its own. A notice about runs runs the queue daemon's
iteration at once, in a thread of its own; a lock keeps it from overlapping the daemon's own
iterations, so no run is taken twice and the run limits hold. A notice about backfills ends the
backfill loop's wait early. The daemons' own passes go on as before: a notice lost while
Postgres restarts only leaves a run or a backfill to be taken up at the next one, and the
listener connects again.
"""

from __future__ import annotations

import inspect
import logging
import select
import threading
from collections.abc import Callable
from typing import Any

import psycopg2

from stack import compat
from stack.storage import BACKFILLS_CHANNEL, RUNS_CHANNEL

RECONNECT_SECONDS = 2.0
logger = logging.getLogger(__name__)


class WaitOrWake:
    """The daemon's shutdown event, for a loop that waits on it between passes: its wait also
    ends as `woken` is set."""

    def __init__(self, shutdown: threading.Event, woken: threading.Event):
        self.shutdown, self.woken = shutdown, woken

    def is_set(self) -> bool:
        return self.shutdown.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        # Checked twice a second, as Dagster's own loops check it.
        remaining = float("inf") if timeout is None else timeout
        while remaining > 0 and not self.shutdown.is_set():
            step = min(remaining, 0.5)
            if self.woken.wait(step):
                self.woken.clear()
                break
            remaining -= step
        return self.shutdown.is_set()


def with_wake(loop: Callable[..., Any], woken: threading.Event) -> Callable[..., Any]:
    """`loop`, a daemon loop that takes the shutdown event as `shutdown_event`, waiting on a
    WaitOrWake of it instead."""
    signature = inspect.signature(loop)

    def woken_loop(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.arguments["shutdown_event"] = WaitOrWake(bound.arguments["shutdown_event"], woken)
        return loop(*bound.args, **bound.kwargs)

    return woken_loop


class Prompt:
    """The listener and the prompt dequeue, for the instance's Postgres at `url`."""

    def __init__(self, url: str):
        self.url = url
        self.runs = threading.Event()
        self.backfills = threading.Event()
        self.lock = threading.Lock()
        self.queue: tuple[Any, Any] | None = None  # the queue daemon and its workspace
        self.iteration = compat.QueuedRunCoordinatorDaemon.run_iteration

    def patch(self) -> Callable[[], None]:
        """Make the queue daemon's iterations take the lock (and make its workspace known);
        returns what undoes it."""
        prompt, original = self, self.iteration

        def run_iteration(daemon, workspace_process_context, *args, **kwargs):
            prompt.queue = (daemon, workspace_process_context)
            with prompt.lock:
                yield from original(daemon, workspace_process_context, *args, **kwargs)

        setattr(compat.QueuedRunCoordinatorDaemon, "run_iteration", run_iteration)  # noqa: B010

        def undo() -> None:
            setattr(compat.QueuedRunCoordinatorDaemon, "run_iteration", original)  # noqa: B010

        return undo

    def listen(self, stopping: threading.Event) -> None:
        """Turn notices into the events `runs` and `backfills` until `stopping` is set."""
        while not stopping.is_set():
            connection = None
            try:
                connection = psycopg2.connect(self.url)
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {RUNS_CHANNEL}; LISTEN {BACKFILLS_CHANNEL}")
                # What was stored while no one listened.
                self.runs.set()
                self.backfills.set()
                while not stopping.is_set():
                    if select.select([connection], [], [], 0.5)[0]:
                        connection.poll()
                        channels = {notice.channel for notice in connection.notifies}
                        connection.notifies.clear()
                        if RUNS_CHANNEL in channels:
                            self.runs.set()
                        if BACKFILLS_CHANNEL in channels:
                            self.backfills.set()
            except (psycopg2.Error, OSError) as error:
                logger.info("listening for new runs again in %.0f s: %s", RECONNECT_SECONDS, error)
                stopping.wait(RECONNECT_SECONDS)
            finally:
                if connection is not None:
                    connection.close()

    def dequeue(self, stopping: threading.Event) -> None:
        """Run the queue daemon's iteration each time `runs` is set, until `stopping` is."""
        while not stopping.is_set():
            if not self.runs.wait(0.5):
                continue
            self.runs.clear()
            if self.queue is None:  # before the daemon's first pass, which comes at once
                continue
            daemon, workspace = self.queue
            with self.lock:
                try:
                    for _ in self.iteration(daemon, workspace):
                        pass
                except Exception:  # the daemon's own pass comes next, as without this
                    logger.exception("taking up the queued runs failed")
