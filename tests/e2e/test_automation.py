"""The daemon working unattended: schedules, the incoming-files sensor, restarts, the run queue.

A stack of its own, with the daily schedule's cron set to every minute (the
product keeps midnight), a sensor looking every 3 seconds and at most 2 runs
at once.
"""

import os
import time

import pytest

from tests.e2e.compose_stack import (
    ApiLoad,
    crash,
    most_at_once,
    running_stack,
    sales_from,
    tags_of,
    wait_until,
)
from tests.sales import HEADER

pytestmark = pytest.mark.usefixtures("docker_ready")

SCHEDULE = "procesar_ventas_diario"
SENSOR = "ventas_entrantes_sensor"


@pytest.fixture(scope="module")
def auto():
    with running_stack(
        "ventas-e2e-auto",
        extra_env={
            "VENTAS_DAILY_CRON": "* * * * *",
            "VENTAS_SENSOR_INTERVAL": "3",
            "DAGSTER_MAX_CONCURRENT_RUNS": "2",
        },
    ) as stack:
        yield stack


def scheduled_runs(stack) -> list[dict]:
    return stack.runs(tags={"dagster/schedule_name": SCHEDULE})


def drop(stack, name: str, content: str):
    """Write a sales file elsewhere, then move it in, as a user should: it is never half there."""
    staging = stack.data_dir / f".{name}.part"
    staging.write_text(content, encoding="utf-8")
    os.replace(staging, stack.data_dir / "incoming" / name)


def ingestions(stack, name: str) -> list[dict]:
    return [
        r
        for r in stack.runs(job="ingerir_ventas")
        if tags_of(r).get("dagster/partition", "").startswith(f"{name}@")
    ]


def test_the_daily_schedule_is_on_by_default_and_its_tick_runs_in_a_container(auto):
    assert auto.instigator("schedule", SCHEDULE)["status"] == "RUNNING"
    assert auto.instigator("sensor", SENSOR)["status"] == "RUNNING"

    run = wait_until(lambda: scheduled_runs(auto), 100, "a scheduled run")[-1]
    run = auto.wait_for_run(run["runId"])
    assert run["status"] == "SUCCESS"
    container = tags_of(run)["docker/container_id"]
    assert container not in {c["Id"] for c in auto.containers().values()}

    ticks = auto.instigator("schedule", SCHEDULE)["ticks"]
    assert any(run["runId"] in t["runIds"] and t["status"] == "SUCCESS" for t in ticks)
    health = auto.graphql(
        "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
    )
    statuses = health["instance"]["daemonHealth"]["allDaemonStatuses"]
    assert all(s["healthy"] for s in statuses if s["required"]), statuses


def test_a_dropped_file_runs_once_is_archived_and_is_not_run_again(auto):
    content = HEADER + "2024-06-01,Café molido,Alimentación,4.60,2,17\n"
    drop(auto, "ventas_junio.csv", content)

    (run,) = wait_until(lambda: ingestions(auto, "ventas_junio.csv"), 60, "an ingestion run")
    assert auto.wait_for_run(run["runId"])["status"] == "SUCCESS"
    archived = auto.data_dir / "archive" / "ventas_junio.csv"
    wait_until(archived.exists, 30, "the file in data/archive/")
    assert not (auto.data_dir / "incoming" / "ventas_junio.csv").exists()
    key = tags_of(run)["dagster/partition"]
    assert (auto.data_dir / "output" / "ventas_entrantes" / f"{key}.parquet").is_file()

    drop(auto, "ventas_junio.csv", content)  # the very same file again
    wait_until(
        lambda: not (auto.data_dir / "incoming" / "ventas_junio.csv").exists(),
        60,
        "the duplicate to leave data/incoming/",
    )
    auto.wait_for_ticks("sensor", SENSOR, time.time())
    assert len(ingestions(auto, "ventas_junio.csv")) == 1
    assert sorted(p.name for p in (auto.data_dir / "archive").iterdir()) == ["ventas_junio.csv"]


def test_a_bad_file_fails_its_run_clearly_and_is_kept(auto):
    drop(auto, "ventas_rotas.csv", HEADER + "2024-06-02,Tableta,Electrónica,mucho,1,3\n")

    (run,) = wait_until(lambda: ingestions(auto, "ventas_rotas.csv"), 60, "an ingestion run")
    assert auto.wait_for_run(run["runId"])["status"] == "FAILURE"
    assert "line 2: 'mucho'" in auto.run_log(run["runId"])
    auto.wait_for_ticks("sensor", SENSOR, time.time())  # no retry loop, file untouched
    assert len(ingestions(auto, "ventas_rotas.csv")) == 1
    assert (auto.data_dir / "incoming" / "ventas_rotas.csv").exists()


def test_a_crashed_daemon_comes_back_and_schedules_and_sensors_carry_on_exactly_once(auto):
    daemon = auto.containers()["daemon"]
    crash(daemon)
    crashed_at = time.time()
    auto.wait_restarted("daemon", daemon)
    wait_until(
        lambda: auto.containers()["daemon"]["State"]["Health"]["Status"] == "healthy",
        120,
        "the restarted daemon to be healthy",
    )

    assert auto.instigator("schedule", SCHEDULE)["status"] == "RUNNING"
    assert auto.instigator("sensor", SENSOR)["status"] == "RUNNING"
    # The next tick fires after the crash...
    wait_until(
        lambda: [r for r in scheduled_runs(auto) if (r["startTime"] or 0) > crashed_at],
        130,
        "a scheduled run after the crash",
    )
    # ...the sensor still ingests...
    drop(auto, "tras_el_reinicio.csv", HEADER + "2024-06-03,Cuaderno A4,Papelería,3.2,5,9\n")
    (run,) = wait_until(lambda: ingestions(auto, "tras_el_reinicio.csv"), 60, "an ingestion run")
    assert auto.wait_for_run(run["runId"])["status"] == "SUCCESS"
    # ...and no tick ever ran twice: one tick per scheduled time, one run per tick.
    ticks = [t for t in auto.instigator("schedule", SCHEDULE)["ticks"] if t["runIds"]]
    assert any(t["timestamp"] > crashed_at for t in ticks)
    assert len({t["timestamp"] for t in ticks}) == len(ticks)
    assert all(len(t["runIds"]) == 1 for t in ticks)
    assert sorted(r["runId"] for r in scheduled_runs(auto)) == sorted(
        run_id for t in ticks for run_id in t["runIds"]
    )


def test_ten_runs_at_once_under_a_limit_of_two_all_succeed_two_at_a_time_under_api_load(
    auto, sales_1m
):
    """Five rounds of the queue, beside the schedule's runs, while ten clients poll the runs
    list as the UI's Runs page does: every request answered. Runs of 1M sales: the sample's,
    handed to a container started ahead, can end before the next one's container starts."""
    with sales_from(auto, sales_1m), ApiLoad(auto, clients=10) as load:
        launched = [auto.launch("procesar_ventas") for _ in range(10)]
        finished = [auto.wait_for_run(run_id, timeout=300, interval=1.0) for run_id in launched]
    print(
        f"API under load: {len(load.latencies)} requests, p50 {load.percentile(0.5) * 1000:.0f}"
        f" ms, p95 {load.percentile(0.95) * 1000:.0f} ms, max {max(load.latencies) * 1000:.0f} ms"
    )

    assert [r["status"] for r in finished] == ["SUCCESS"] * 10
    assert load.errors == []
    # Every run of the stack counts, scheduled ones included: the limit is global.
    everything = [r for r in auto.runs() if r["startTime"] and r["endTime"]]
    assert most_at_once(everything) <= 2
    assert most_at_once(finished) == 2  # the queue did run two at a time
    wait_until(lambda: not auto.run_containers(), 30, "the run containers to be removed")
