"""Faults the stack must ride out without losing anything or needing a hand: Postgres, the
daemon or a run's container dying mid-run; 30 queued runs under load; a backup and restore."""

import contextlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from compose_stack import (REPO, SAMPLE_DATA, ApiLoad, crash, docker, most_at_once,
                           running_stack, tags_of, wait_until)

pytestmark = pytest.mark.usefixtures("docker_ready")


@pytest.fixture(scope="module")
def faults():
    with running_stack("ventas-e2e-faults", extra_env={"DAGSTER_MAX_CONCURRENT_RUNS": "2"}) as s:
        yield s


@pytest.fixture(scope="module")
def big_sales(tmp_path_factory) -> Path:
    """3M sales: a run long enough (several seconds) to hit in the middle."""
    path = tmp_path_factory.mktemp("sales") / "ventas.csv"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate_ventas.py"),
                    "--rows", "3000000", "--out", str(path)], check=True)
    return path


@contextlib.contextmanager
def sales_from(stack, source: Path):
    target = stack.data_dir / "ventas.csv"
    shutil.copy(source, target)
    try:
        yield
    finally:
        shutil.copy(SAMPLE_DATA / "ventas.csv", target)


def started(stack, run_id: str) -> dict:
    return wait_until(lambda: (r := stack.run(run_id))["status"] == "STARTED" and r, 120,
                      "the run to start")


def test_postgres_restarting_mid_run_ends_the_run_cleanly_and_later_runs_succeed(
        faults, big_sales):
    with sales_from(faults, big_sales):
        run_id = faults.launch("procesar_ventas")
        started(faults, run_id)
        faults.compose("restart", "postgres")
        ended = faults.wait_for_run(run_id, timeout=180)
    assert ended["status"] in ("SUCCESS", "FAILURE")  # finished either way, not stuck
    later = [faults.wait_for_run(faults.launch("procesar_ventas")) for _ in range(2)]
    assert [r["status"] for r in later] == ["SUCCESS", "SUCCESS"]


def test_a_daemon_killed_mid_run_comes_back_without_duplicating_or_stranding_runs(
        faults, big_sales):
    with sales_from(faults, big_sales):
        runs_before = len(faults.runs())
        running = faults.launch("procesar_ventas")
        started(faults, running)
        daemon = faults.containers()["daemon"]
        crash(daemon)
        queued = faults.launch("procesar_ventas")  # submitted while the daemon is down
        wait_until(lambda: faults.containers()["daemon"]["RestartCount"] > daemon["RestartCount"],
                   60, "the daemon to restart")
        assert faults.wait_for_run(running, timeout=180)["status"] == "SUCCESS"
        assert faults.wait_for_run(queued, timeout=180)["status"] == "SUCCESS"
    assert len(faults.runs()) == runs_before + 2  # nothing run twice


def test_a_killed_run_container_fails_its_run_promptly_and_the_run_is_retried(faults, big_sales):
    with sales_from(faults, big_sales):
        run_id = faults.launch("procesar_ventas")
        run = started(faults, run_id)
        container = tags_of(run)["docker/container_id"]
        docker("kill", container)
        killed_at = time.monotonic()
        failed = faults.wait_for_run(run_id, timeout=120)
        detected = time.monotonic() - killed_at
        print(f"run monitoring marked the killed run FAILURE after {detected:.1f} s")
        assert failed["status"] == "FAILURE"

        try:
            retry = wait_until(lambda: faults.runs(tags={"dagster/parent_run_id": run_id}), 120,
                               "the automatic retry")
        except TimeoutError:
            pytest.fail(f"no retry of {run_id}; its tags: {tags_of(faults.run(run_id))}\n"
                        f"its log:\n{faults.run_log(run_id)}\n"
                        f"the daemon's log:\n{faults.compose('logs', 'daemon').stdout[-6000:]}")
        assert faults.wait_for_run(retry[0]["runId"], timeout=180)["status"] == "SUCCESS"
    # Whatever the killed run was writing, every output is a whole parquet file.
    for output in (faults.data_dir / "output").glob("*.parquet"):
        pd.read_parquet(output)


def test_thirty_runs_under_a_limit_of_two_while_ten_clients_poll_the_api(faults):
    with ApiLoad(faults, clients=10) as load:
        launched = [faults.launch("procesar_ventas") for _ in range(30)]
        finished = [faults.wait_for_run(run_id, timeout=600, interval=1.0) for run_id in launched]
    print(f"API under load: {len(load.latencies)} requests, p50 {load.percentile(0.5) * 1000:.0f}"
          f" ms, p95 {load.percentile(0.95) * 1000:.0f} ms, max {max(load.latencies) * 1000:.0f} ms")

    assert [r["status"] for r in finished] == ["SUCCESS"] * 30
    assert load.errors == []
    everything = [r for r in faults.runs() if r["startTime"] and r["endTime"]]
    assert most_at_once(everything) <= 2
    wait_until(lambda: not faults.run_containers(), 30, "the run containers to be removed")


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
