"""Faults the stack must ride out without losing anything or needing a hand: Postgres, the
daemon or a run's container dying mid-run; a backup and restore."""

import subprocess
import time

import pandas as pd
import pytest

from tests.e2e.compose_stack import (
    FINISHED,
    REPO,
    crash,
    docker,
    docker_seconds,
    running_stack,
    sales_from,
    tags_of,
    wait_until,
    writing,
)

pytestmark = pytest.mark.usefixtures("docker_ready")
# Longer than the storage's reconnections last (dagster-postgres: 0.2 s doubled 5 times).
LONG_OUTAGE_SECONDS = 12
# Plain restarts (down a second or two): two at each moment of a run.
PLAIN_RESTARTS = 6
# What the daemon records on a run whose step failed on the database, as it retries it.
DATABASE_RETRY = "A step failed because the connection to the instance's database was lost"


@pytest.fixture(scope="module")
def faults():
    with running_stack("ventas-e2e-faults", extra_env={"DAGSTER_MAX_CONCURRENT_RUNS": "2"}) as s:
        yield s


def done_once(stack, run_id: str) -> list[dict]:
    """The runs that did `run_id`'s work: the run itself if it succeeded, else it and its
    automatic retries, the last of which succeeded. Fails if the work was not done."""
    runs = [stack.wait_for_run(run_id, timeout=300)]
    while runs[-1]["status"] == "FAILURE":
        try:
            (retry,) = wait_until(
                lambda: stack.runs(tags={"dagster/parent_run_id": runs[-1]["runId"]}),
                120,
                f"an automatic retry of {runs[-1]['runId']}",
            )
        except TimeoutError:
            pytest.fail(
                f"no retry of {runs[-1]['runId']}; its tags: {tags_of(runs[-1])}\n"
                f"its log:\n{stack.run_log(runs[-1]['runId'])}\n"
                f"the daemon's log:\n{stack.compose('logs', 'daemon').stdout[-6000:]}"
            )
        runs.append(stack.wait_for_run(retry["runId"], timeout=300))
    assert runs[-1]["status"] == "SUCCESS", stack.run_log(runs[-1]["runId"])
    return runs


def test_postgres_restarting_mid_run_eleven_times_never_loses_nor_doubles_the_work(
    faults, sales_1m
):
    """Postgres restarted while a run starts, reads the CSV or writes the clean table, 11
    times: each time the work is done exactly once, by the run or by its automatic retries.
    Docker's record of when Postgres stopped puts each restart inside its run. The last five
    keep it down 12 s, longer than the storage's reconnections last (about 6 s): a step then
    fails on the database, and the daemon retries the run as the infrastructure's failure
    (stack.daemon), which a plain restart never makes it do; or the run's process ends, and
    Dagster retries the run."""
    moments = [
        lambda run_id: wait_until(
            lambda: faults.run(run_id)["status"] == "STARTED",
            120,
            "the run to start",
            interval=0.05,
        ),
        lambda run_id: writing(faults, "ventas_raw"),
        lambda run_id: writing(faults, "ventas_procesadas"),
    ]
    before = {r["runId"] for r in faults.runs(job="procesar_ventas")}
    chains, long_outages = [], []
    with sales_from(faults, sales_1m):
        for attempt in range(PLAIN_RESTARTS + 5):
            run_id = faults.launch("procesar_ventas")
            moments[attempt % len(moments)](run_id)
            if attempt < PLAIN_RESTARTS:
                faults.compose("restart", "postgres")
            else:
                faults.compose("stop", "postgres")
                time.sleep(LONG_OUTAGE_SECONDS)
                faults.compose("start", "postgres")
                long_outages.append(run_id)
            stopped = docker_seconds(faults.containers()["postgres"]["State"]["FinishedAt"])
            runs = done_once(faults, run_id)
            assert runs[0]["startTime"] < stopped < runs[0]["endTime"], "not mid-run"
            chains.append(runs)
    statuses = ["/".join(r["status"] for r in chain) for chain in chains]
    print(f"{len(chains)} Postgres restarts mid-run: {statuses}")
    assert not [r for r in faults.runs() if r["status"] not in FINISHED]  # none stuck
    # Every run of the job, retries of retries included: one success for each launch.
    runs = [r for r in faults.runs(job="procesar_ventas") if r["runId"] not in before]
    assert len(runs) == sum(len(chain) for chain in chains)
    assert [r["status"] for r in runs].count("SUCCESS") == len(chains)
    # Some long outage failed a step on the database (others may end the run's process
    # instead, which Dagster's own retry covers), and the daemon retried that run for it.
    on_database = [run_id for run_id in long_outages if DATABASE_RETRY in faults.run_log(run_id)]
    print(f"long outages that failed a step on the database: {len(on_database)} of 5")
    assert on_database, [faults.run_log(run_id)[-1500:] for run_id in long_outages]


def test_a_daemon_killed_mid_run_comes_back_without_duplicating_or_stranding_runs(
    faults, big_sales
):
    with sales_from(faults, big_sales):
        runs_before = len(faults.runs())
        running = faults.launch("procesar_ventas")
        writing(faults, "ventas_raw")
        daemon = faults.containers()["daemon"]
        crashed_at = time.time()
        crash(daemon)
        queued = faults.launch("procesar_ventas")  # submitted while the daemon is down
        faults.wait_restarted("daemon", daemon)
        finished = faults.wait_for_run(running, timeout=180)
        assert finished["status"] == "SUCCESS" and finished["endTime"] > crashed_at
        assert faults.wait_for_run(queued, timeout=180)["status"] == "SUCCESS"
    assert len(faults.runs()) == runs_before + 2  # nothing run twice


def test_a_killed_run_is_retried_and_leaves_no_half_written_file(faults, big_sales):
    with sales_from(faults, big_sales):
        run_id = faults.launch("procesar_ventas")
        half_written = writing(faults, "ventas_raw")
        docker("kill", tags_of(faults.run(run_id))["docker/container_id"])
        killed_at = time.monotonic()
        assert half_written.exists()  # what the killed run was writing is left behind...
        failed = faults.wait_for_run(run_id, timeout=120)
        print(
            f"run monitoring marked the killed run FAILURE after "
            f"{time.monotonic() - killed_at:.1f} s"
        )
        assert failed["status"] == "FAILURE"
        done_once(faults, run_id)
    # ...until the retry writes the same asset, and every output is a whole parquet file.
    output = faults.data_dir / "output"
    assert not list(output.rglob("*.tmp"))
    for path in output.glob("*.parquet"):
        pd.read_parquet(path)


def test_backup_then_down_v_then_restore_brings_the_history_back(faults, tmp_path):
    run_id = faults.launch("procesar_ventas")
    assert faults.wait_for_run(run_id)["status"] == "SUCCESS"
    outputs = sorted(p.name for p in (faults.data_dir / "output").iterdir())
    backup = tmp_path / "dagster.dump"
    subprocess.run([str(REPO / "scripts" / "backup"), str(backup)], env=faults.env, check=True)
    assert backup.stat().st_size > 0

    faults.compose("down", "--volumes", "--timeout", "10")
    assert sorted(p.name for p in (faults.data_dir / "output").iterdir()) == outputs  # data/ kept
    faults.up()
    faults.wait_for_location()
    assert faults.run(run_id)["__typename"] == "RunNotFoundError"  # the history is gone

    subprocess.run([str(REPO / "scripts" / "restore"), str(backup)], env=faults.env, check=True)
    faults.wait_for_location()
    assert faults.run(run_id)["status"] == "SUCCESS"
    assert faults.wait_for_run(faults.launch("procesar_ventas"))["status"] == "SUCCESS"
