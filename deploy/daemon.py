"""Start dagster-daemon, with run retries that never miss a failed run.

Dagster records a run's failure in two steps: it stores the RUN_FAILURE event,
then sets the run's status to FAILURE. The daemon's event-log consumer, which
launches the retries configured under `run_retries`, reads new RUN_FAILURE
events and decides at once from the run's status; a run it reads between the
two steps is still STARTED, so it is passed over and never retried (its
`dagster/will_retry` tag even says "true"). Run monitoring, which fails the
runs whose container died, and the consumer tick in step from the daemon's
start (every 10 s and every 5 s), so it is hit more often than chance says:
here 4 of about 26 killed runs were never retried (0 of 18 with this wrapper).

This wrapper lets the consumer wait, up to SETTLE_SECONDS, until the runs it
was given show a finished status, then decide as Dagster would.

Arguments are dagster-daemon's own.
"""

import sys
import time

from dagster._core.storage.dagster_run import RunsFilter
from dagster._daemon.auto_run_reexecution import event_log_consumer

SETTLE_SECONDS = 5.0
decide_retries = event_log_consumer.consume_new_runs_for_automatic_reexecution


def decide_retries_once_finished(workspace_process_context, run_records, logger):
    """Dagster's retry decision, on the runs' records once their status is final."""
    instance = workspace_process_context.instance
    records = {record.dagster_run.run_id: record for record in run_records}
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        pending = [run_id for run_id, record in records.items()
                   if not record.dagster_run.is_finished]
        if not pending:
            break
        yield  # the daemon's heartbeat goes on while this waits
        time.sleep(0.1)
        for record in instance.get_run_records(filters=RunsFilter(run_ids=pending)):
            records[record.dagster_run.run_id] = record
    yield from decide_retries(workspace_process_context, list(records.values()), logger)


event_log_consumer.consume_new_runs_for_automatic_reexecution = decide_retries_once_finished

if __name__ == "__main__":
    from dagster._daemon.cli import main

    sys.argv[0] = "dagster-daemon"
    sys.exit(main())
