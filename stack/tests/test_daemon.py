"""stack.daemon: the daemon's retry decision waits for a failed run's final status, and
retries a run whose step failed on a lost database connection (but not on bad input).

Dagster stores a RUN_FAILURE event and sets the run's status in two steps; some tests read
the run between the two, as the daemon's event-log consumer sometimes does. All of them run
on a real (SQLite) instance and Dagster's own retry code, configured as dagster.yaml is.
No Docker.
"""

import logging
import threading
import time

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, RunFailureReason, StepFailureData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import RUN_FAILURE_REASON_TAG, WILL_RETRY_TAG
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster._daemon.auto_run_reexecution.event_log_consumer import (
    EventLogConsumerDaemon,
)
from dagster._daemon.daemon import BackfillDaemon, SpanMarker
from dagster_shared.error import SerializableErrorInfo

from stack import compat, daemon

assert compat.RETRIES_MOVED is None, (
    f"Dagster moved what stack.daemon patches: {compat.RETRIES_MOVED!r}"
)
RETRIES = {
    "run_retries": {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": False}
}

# Dagster's retry code reaches this for a run it decided to retry; this run has no
# code location to be retried from, so the attempt stops here, observably.
ATTEMPTED = "Run does not have an external job origin, unable to retry the run."


@pytest.fixture
def half_failed(monkeypatch):
    """A STARTED run whose RUN_FAILURE event is stored but whose status is not yet set,
    a function that sets it, and a daemon workspace, on an instance with run retries.
    (Dagster's last step, its retry decision, never comes: the wrapper waits a second.)"""
    monkeypatch.setattr(daemon, "SETTLE_SECONDS", 1.0)
    with dg.instance_for_test(overrides=RETRIES) as instance:
        run = instance.add_run(
            DagsterRun(job_name="procesar_ventas", status=DagsterRunStatus.STARTED)
        )
        event = DagsterEvent(
            event_type_value=DagsterEventType.RUN_FAILURE.value,
            job_name=run.job_name,
            message="run worker gone",
        )
        instance.event_log_storage.store_event(entry(run, event))

        def set_status():
            instance.run_storage.handle_run_event(run.run_id, event)

        with WorkspaceProcessContext(instance, EmptyWorkspaceTarget()) as workspace:
            yield instance, run, set_status, workspace


def retry_attempted(instance, run) -> bool:
    return any(e.message == ATTEMPTED for e in instance.all_logs(run.run_id))


def decide(decision, instance, run, workspace) -> None:
    records = instance.get_run_records(filters=RunsFilter(run_ids=[run.run_id]))
    list(decision(workspace, records, logging.getLogger("test")))


def test_dagsters_own_decision_passes_over_a_run_read_between_the_two_steps(half_failed):
    """Why stack.daemon exists. If this fails, Dagster no longer has the race:
    drop the wrapper and run `dagster-daemon run` directly."""
    instance, run, set_status, workspace = half_failed
    decide(daemon.decide_retries, instance, run, workspace)
    set_status()
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    assert not retry_attempted(instance, run)


def test_the_wrapper_waits_for_the_status_and_then_retries(half_failed):
    instance, run, set_status, workspace = half_failed
    records = instance.get_run_records(filters=RunsFilter(run_ids=[run.run_id]))
    decision = daemon.decide_retries_once_finished(workspace, records, logging.getLogger("test"))
    next(decision)  # it waits, handing the daemon's heartbeat a turn...
    assert not retry_attempted(instance, run)
    set_status()  # ...until Dagster's second step has set the run's status,
    list(decision)  # then decides as Dagster would: a retry.
    assert retry_attempted(instance, run)
    assert instance.get_run_by_id(run.run_id).tags["dagster/will_retry"] == "true"


def test_the_wrapper_is_what_the_daemons_consumer_calls():
    undo = daemon.patch()
    try:
        consumers = EventLogConsumerDaemon().handle_updated_runs_fns
        assert consumers == [daemon.decide_retries_once_finished]
    finally:
        undo()
    assert EventLogConsumerDaemon().handle_updated_runs_fns == [daemon.decide_retries]


def entry(run, event: DagsterEvent) -> EventLogEntry:
    return EventLogEntry(
        error_info=None,
        level=logging.ERROR,
        user_message="",
        run_id=run.run_id,
        timestamp=time.time(),
        dagster_event=event,
    )


def store(instance, run, event: DagsterEvent) -> None:
    instance.handle_new_event(entry(run, event))


@pytest.fixture
def step_failed():
    """A function that makes a run whose step failed with an error of the given class,
    failed as the run worker fails it, on an instance configured as dagster.yaml is."""
    with dg.instance_for_test(overrides=RETRIES) as instance:

        def failed_run(
            error_class: str, retry_of: DagsterRun | None = None, decided: bool = True
        ) -> DagsterRun:
            """`decided=False`: the run as read before Dagster writes its retry decision."""
            lineage = (
                {}
                if retry_of is None
                else {
                    "parent_run_id": retry_of.run_id,
                    "root_run_id": retry_of.root_run_id or retry_of.run_id,
                }
            )
            run = instance.add_run(
                DagsterRun(
                    job_name="procesar_ventas",
                    status=DagsterRunStatus.STARTED,
                    **lineage,
                    tags={
                        RUN_FAILURE_REASON_TAG: RunFailureReason.STEP_FAILURE.value,
                        **{f"dagster/{key}": value for key, value in lineage.items()},
                    },
                )
            )
            error = SerializableErrorInfo(
                message=f"{error_class}: ...\n", stack=[], cls_name=error_class
            )
            store(
                instance,
                run,
                DagsterEvent(
                    event_type_value=DagsterEventType.STEP_FAILURE.value,
                    job_name=run.job_name,
                    step_key="ventas_por_categoria",
                    event_specific_data=StepFailureData(error=error, user_failure_data=None),
                ),
            )
            failure = DagsterEvent(
                event_type_value=DagsterEventType.RUN_FAILURE.value,
                job_name=run.job_name,
                message="Steps failed: ['ventas_por_categoria'].",
            )
            if decided:
                store(instance, run, failure)
            else:  # Dagster's first two steps: the event, then the status
                instance.event_log_storage.store_event(entry(run, failure))
                instance.run_storage.handle_run_event(run.run_id, failure)
            return instance.get_run_by_id(run.run_id)

        with WorkspaceProcessContext(instance, EmptyWorkspaceTarget()) as workspace:
            yield instance, failed_run, workspace


def test_dagster_does_not_retry_a_step_that_lost_the_database(step_failed):
    """Why stack.daemon retries such runs. If this fails, Dagster retries them itself."""
    instance, failed_run, workspace = step_failed
    run = failed_run("OperationalError")
    assert run.tags[WILL_RETRY_TAG] == "false"
    decide(daemon.decide_retries, instance, run, workspace)
    assert not retry_attempted(instance, run)


def test_the_wrapper_retries_a_step_that_lost_the_database(step_failed):
    instance, failed_run, workspace = step_failed
    run = failed_run("OperationalError")
    decide(daemon.decide_retries_once_finished, instance, run, workspace)
    assert retry_attempted(instance, run)
    assert instance.get_run_by_id(run.run_id).tags[WILL_RETRY_TAG] == "true"


def test_the_wrapper_waits_for_dagsters_retry_decision_before_changing_it(step_failed):
    """Read after its status and before Dagster's "false": deciding then, the wrapper's "true"
    would be overwritten (and in CI once, the run was not retried)."""
    instance, failed_run, workspace = step_failed
    run = failed_run("OperationalError", decided=False)
    assert run.status == DagsterRunStatus.FAILURE and WILL_RETRY_TAG not in run.tags
    records = instance.get_run_records(filters=RunsFilter(run_ids=[run.run_id]))
    decision = daemon.decide_retries_once_finished(workspace, records, logging.getLogger("test"))
    next(decision)  # it waits...
    instance.add_run_tags(run.run_id, {WILL_RETRY_TAG: "false"})  # ...for the run worker's word,
    list(decision)  # then retries the run all the same.
    assert retry_attempted(instance, run)
    assert instance.get_run_by_id(run.run_id).tags[WILL_RETRY_TAG] == "true"


def test_the_wrapper_retries_a_database_failure_whose_decision_never_came(step_failed, monkeypatch):
    """The run worker died between the status and the decision: once the wait is over."""
    monkeypatch.setattr(daemon, "SETTLE_SECONDS", 0.5)
    instance, failed_run, workspace = step_failed
    run = failed_run("OperationalError", decided=False)
    decide(daemon.decide_retries_once_finished, instance, run, workspace)
    assert retry_attempted(instance, run)
    assert instance.get_run_by_id(run.run_id).tags[WILL_RETRY_TAG] == "true"


def test_the_wrapper_does_not_retry_bad_input(step_failed):
    instance, failed_run, workspace = step_failed
    run = failed_run("InputFileError")
    decide(daemon.decide_retries_once_finished, instance, run, workspace)
    assert not retry_attempted(instance, run)
    assert instance.get_run_by_id(run.run_id).tags[WILL_RETRY_TAG] == "false"


def test_the_wrapper_retries_no_more_than_max_retries(step_failed):
    instance, failed_run, workspace = step_failed
    first = failed_run("OperationalError")
    # Two retries of it already, the last failed on the database too: no third.
    second = failed_run("OperationalError", retry_of=first)
    third = failed_run("OperationalError", retry_of=second)
    decide(daemon.decide_retries_once_finished, instance, third, workspace)
    assert not retry_attempted(instance, third)


def iterations_in(seconds: float) -> int:
    """Iterations the backfill daemon's real loop (on a real instance with no backfill) makes
    in `seconds`, as the daemon's thread would run it."""
    stop = threading.Event()
    count = 0
    with (
        dg.instance_for_test() as instance,
        WorkspaceProcessContext(instance, EmptyWorkspaceTarget()) as workspace,
        BackfillDaemon(settings={"use_threads": False}) as backfills,
    ):
        threading.Timer(seconds, stop.set).start()
        loop = backfills.core_loop(workspace, stop)
        for marker in loop:
            if stop.is_set():
                break
            count += marker is SpanMarker.START_SPAN
    return count


def test_a_backfill_loop_woken_between_passes_looks_again_at_once():
    """As a backfill is requested (stack.prompt): the next pass need not wait its interval."""
    woken = threading.Event()
    undo = daemon.backfills_every(30, woken)
    try:
        assert iterations_in(2) == 1
        threading.Timer(1, woken.set).start()
        assert iterations_in(3) == 2
    finally:
        undo()


def test_backfills_are_looked_at_every_two_seconds_not_thirty():
    assert compat.BACKFILL_LOOP_MOVED is None
    assert iterations_in(5) == 1  # Dagster's own: one iteration, then 30 s of waiting
    undo = daemon.backfills_every(daemon.BACKFILL_INTERVAL)
    try:
        assert 2 <= iterations_in(5) <= 3
    finally:
        undo()
    # The interval was set for the loop's start only: Dagster's default is as it was.
    assert compat.daemon_controller.DEFAULT_DAEMON_INTERVAL_SECONDS == 30
