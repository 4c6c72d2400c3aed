"""Start dagster-daemon, with run retries that never miss a failed run and that retry a run
whose step failed because the instance's database went away.

1. Dagster records a run's failure in three steps: it stores the RUN_FAILURE event, sets
   the run's status to FAILURE, then writes its retry decision (the `dagster/will_retry`
   tag). The daemon's event-log consumer, which launches the retries configured under
   `run_retries`, reads new RUN_FAILURE events and decides at once from the run as it is; a
   run it reads between the first two steps is still STARTED, so it is passed over and never
   retried (its `dagster/will_retry` tag even says "true"). Run monitoring, which fails the
   runs whose container died, and the consumer tick in step from the daemon's start (every
   10 s and every 5 s), so it is hit more often than chance says: here 4 of about 26 killed
   runs were never retried (0 of 18 with this wrapper). The consumer here waits, up to
   SETTLE_SECONDS, until the runs it was given are finished and, if they failed, carry
   Dagster's retry decision.

2. A step that loses its connection to Postgres in the middle of a query (Postgres restarted
   for an upgrade, a host hiccup) fails like a step whose own code failed, and
   `retry_on_asset_or_op_failure: false`, which keeps bad input from being retried, keeps
   that run from being retried too: here 6 of 24 runs of 1M rows failed so when Postgres
   restarted mid-run. A run whose failed steps failed on the database connection is marked to
   be retried, within `max_retries`, as if it had failed outside its steps.

Then the consumer decides as Dagster would. If a Dagster upgrade moved what this patches,
the daemon starts unpatched, with a warning: stock behaviour, not a crash loop.

3. Beside dagster-daemon, a thread looks after the run containers every second: it stops
   those of runs being terminated and removes those of ended runs; when the daemon is told to
   stop, the runs in flight are canceled and their containers stopped and removed before it
   exits (stack.run_containers).

4. Queued runs and new backfills are taken up as soon as they are stored, not at the daemon's
   next pass (stack.prompt).

5. Another reads the daemons' heartbeats: it keeps the health check's file fresh while they
   beat, and exits once one has been silent too long, for Docker to restart the daemon
   (stack.heartbeats).

`stack-daemon` runs it; its arguments are dagster-daemon's own.
"""

import importlib.metadata
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from stack import compat
from stack.heartbeats import HeartbeatWatch, tolerance_from
from stack.prompt import Prompt, with_wake
from stack.run_containers import RunContainers

# Dagster's own retry decision, which the patched consumer hands the settled runs to.
decide_retries = (
    compat.event_log_consumer.consume_new_runs_for_automatic_reexecution
    if compat.RETRIES_MOVED is None
    else None
)
SETTLE_SECONDS = 5.0
# What a lost connection to the instance's database raises (SQLAlchemy, psycopg2, and
# dagster-postgres once its connection retries are spent).
DATABASE_ERRORS = {"OperationalError", "InterfaceError", "DagsterPostgresException"}


def lost_the_database(instance, run) -> bool:
    """Whether a step of `run` failed because the connection to the database was lost."""
    for record in instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.STEP_FAILURE
    ).records:
        error = record.event_log_entry.dagster_event.step_failure_data.error
        while error is not None:
            if error.cls_name in DATABASE_ERRORS:
                return True
            error = error.cause or error.context
    return False


def retry_database_failures(instance, records, logger):
    """Mark the runs among `records` whose steps failed on the database to be retried, within
    max_retries; return the records as they are now."""
    changed = []
    for record in records:
        run = record.dagster_run
        if (
            run.status == DagsterRunStatus.FAILURE
            and run.tags.get(compat.WILL_RETRY_TAG) != "true"  # "false", or none if its writer died
            and run.tags.get(compat.RUN_FAILURE_REASON_TAG)
            == compat.RunFailureReason.STEP_FAILURE.value
            and lost_the_database(instance, run)
        ):
            # Dagster's own count of retries, as if step failures were retried.
            as_infrastructure = run.with_tags({compat.RETRY_ON_ASSET_OR_OP_FAILURE_TAG: "true"})
            if compat.auto_reexecution_should_retry_run(
                instance, as_infrastructure, compat.RunFailureReason.STEP_FAILURE
            ):
                instance.add_run_tags(run.run_id, {compat.WILL_RETRY_TAG: "true"})
                instance.report_engine_event(
                    "A step failed because the connection to the instance's database was lost "
                    "(Postgres restarting?), not because of the run's code or data: retrying.",
                    run,
                )
                logger.info(f"Run {run.run_id} failed on the database connection: retrying it.")
                changed.append(run.run_id)
    if not changed:
        return records
    fresh = {
        r.dagster_run.run_id: r
        for r in instance.get_run_records(filters=RunsFilter(run_ids=changed))
    }
    return [fresh.get(r.dagster_run.run_id, r) for r in records]


def recorded(run, retries_enabled: bool) -> bool:
    """Whether Dagster has finished recording `run`'s end: a final status and, for a failure
    with run retries on, the retry decision it writes last (which this wrapper may change:
    deciding before it is written would let it overwrite the change)."""
    if not run.is_finished:
        return False
    return (
        not retries_enabled
        or run.status != DagsterRunStatus.FAILURE
        or compat.WILL_RETRY_TAG in run.tags
    )


def decide_retries_once_finished(workspace_process_context, run_records, logger):
    """Dagster's retry decision, on the runs' records once their end is recorded, and with
    database failures marked for a retry."""
    instance = workspace_process_context.instance
    records = {record.dagster_run.run_id: record for record in run_records}
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        pending = [
            run_id
            for run_id, record in records.items()
            if not recorded(record.dagster_run, instance.run_retries_enabled)
        ]
        if not pending:
            break
        yield  # the daemon's heartbeat goes on while this waits
        time.sleep(0.1)
        for record in instance.get_run_records(filters=RunsFilter(run_ids=pending)):
            records[record.dagster_run.run_id] = record
    settled = retry_database_failures(instance, list(records.values()), logger)
    assert decide_retries is not None  # patched in only where Dagster has it
    yield from decide_retries(workspace_process_context, settled, logger)


def patch() -> Callable[[], None]:
    """Make the daemon's event-log consumer decide with decide_retries_once_finished; returns
    what undoes it."""
    consumer = compat.event_log_consumer
    consumer.consume_new_runs_for_automatic_reexecution = decide_retries_once_finished

    def undo() -> None:
        assert decide_retries is not None
        consumer.consume_new_runs_for_automatic_reexecution = decide_retries

    return undo


# Seconds between the backfill daemon's iterations, instead of Dagster's 30: a backfill
# launched in the UI starts its runs within seconds. An iteration with no backfill in progress
# is one query.
BACKFILL_INTERVAL = 2


def backfills_every(seconds: int, woken: threading.Event | None = None) -> Callable[[], None]:
    """Make the backfill daemon's loop wait `seconds` between iterations, or until `woken` is
    set; returns what undoes it. The loop reads the interval once, as it starts: it is set for
    that moment only."""
    loops, controller = compat.daemon_loops, compat.daemon_controller
    original = loops.execute_backfill_iteration_loop
    start = original if woken is None else with_wake(original, woken)

    def loop(*args, **kwargs):
        default = controller.DEFAULT_DAEMON_INTERVAL_SECONDS
        controller.DEFAULT_DAEMON_INTERVAL_SECONDS = seconds
        inner = start(*args, **kwargs)
        try:
            first = next(inner)
        except StopIteration:
            return
        finally:
            controller.DEFAULT_DAEMON_INTERVAL_SECONDS = default
        yield first
        yield from inner

    loops.execute_backfill_iteration_loop = loop

    def undo() -> None:
        loops.execute_backfill_iteration_loop = original

    return undo


def dagster_daemon_main():
    """The function behind the `dagster-daemon` command, wherever Dagster keeps it."""
    (entry_point,) = importlib.metadata.entry_points(group="console_scripts", name="dagster-daemon")
    return entry_point.load()


def main() -> None:
    if compat.RETRIES_MOVED is None:
        patch()
    else:
        warnings.warn(
            f"stack.daemon: Dagster's run-retry internals moved ({compat.RETRIES_MOVED!r}); "
            "starting dagster-daemon without the retry fixes: a run that fails while the "
            "daemon reads it, or on a lost database connection, may not be retried. Update "
            "stack/compat.py and stack/daemon.py.",
            stacklevel=1,
        )
    instance = DagsterInstance.get()
    stopping = threading.Event()
    prompt = None
    url = getattr(instance.run_storage, "postgres_url", None)
    if compat.QUEUE_MOVED is None and url is not None:
        prompt = Prompt(url)
        prompt.patch()
        threading.Thread(target=prompt.listen, args=(stopping,), daemon=True).start()
        threading.Thread(target=prompt.dequeue, args=(stopping,), daemon=True).start()
    else:
        warnings.warn(
            f"stack.daemon: Dagster's queue daemon moved ({compat.QUEUE_MOVED!r}), or the "
            "storage is not Postgres: queued runs start at the daemon's next pass, up to a "
            "second later. Update stack/compat.py and stack/prompt.py.",
            stacklevel=1,
        )
    if compat.BACKFILL_LOOP_MOVED is None:
        backfills_every(BACKFILL_INTERVAL, prompt.backfills if prompt else None)
    else:
        warnings.warn(
            f"stack.daemon: Dagster's backfill loop moved ({compat.BACKFILL_LOOP_MOVED!r}); "
            "backfills start within Dagster's 30 s. Update stack/compat.py and stack/daemon.py.",
            stacklevel=1,
        )
    tolerance = tolerance_from(os.environ)
    containers = RunContainers(instance)
    threading.Thread(target=containers.watch, args=(stopping,), daemon=True).start()
    heartbeats = HeartbeatWatch(instance, tolerance)
    threading.Thread(target=heartbeats.watch, args=(stopping,), daemon=True).start()
    sys.argv[0] = "dagster-daemon"
    try:
        dagster_daemon_main()()
    except SystemExit as exit:
        stopping.set()
        if exit.code in (0, None):  # told to stop (SIGTERM, SIGINT), not crashed
            containers.stop_all()
        raise
