"""The monitoring profile in a real stack: the exporter's series move with a run, every query of
the Grafana dashboard has data in the profile's Prometheus, and alerts reach a real HTTP
receiver (tests/e2e/alerts/) through Alertmanager and the exporter's relay: the daemon paused
(and "resolved" once it is unpaused), a code location stopped, a failing asset check.

The rules, Prometheus' configuration and Alertmanager's are the shipped ones with their waits
shortened (conftest.SHORTER_WAITS: a daemon stalled after 45 s without a heartbeat, scrapes
every 2 s), so that alerts arrive in seconds; promtool tests the shipped timing. The stack is
the platform one (tests/e2e/conftest.py), which test_history uses first.
"""

import csv
import json
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard import panel_queries
from tests.e2e.compose_stack import (
    SAMPLE_DATA,
    Stack,
    docker_events,
    docker_seconds,
    sales_from,
    wait_until,
)
from tests.e2e.conftest import DAEMON_STALLED_AFTER
from tests.e2e.receiver import Receiver

pytestmark = pytest.mark.usefixtures("docker_ready")
# A paused daemon's last heartbeat is up to 30 s old; then come a scrape, an evaluation and
# Alertmanager's group wait, a few seconds in all (plus a slow machine's margin).
DAEMON_ALERT_WITHIN = DAEMON_STALLED_AFTER + 30 + 20


class Prometheus:
    def __init__(self, url: str):
        self.url = url

    def query(self, expr: str) -> list[dict]:
        query = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{query}", timeout=10) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str) -> float:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else 0.0

    def alerts(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=10) as answer:
            return json.load(answer)["data"]["alerts"]


@pytest.fixture(scope="module")
def monitored(platform) -> tuple[Stack, Prometheus, Receiver]:
    return platform.stack, Prometheus(platform.prometheus_url), platform.receiver


def alert_texts(receiver: Receiver) -> list[str]:
    return [json.loads(post["body"])["text"] for post in receiver.all_posts()]


def posted(receiver: Receiver, *parts: str, after: int = 0) -> list[str]:
    """The texts of the alerts posted, from the `after`th on, that contain every one of `parts`."""
    return [text for text in alert_texts(receiver)[after:] if all(part in text for part in parts)]


def sales_with_empty_products(directory: Path) -> Path:
    """The sample with a fifth of its products empty: more than the 5 % proporcion_de_nulos
    allows, a warning that lets the run go on."""
    with (SAMPLE_DATA / "ventas.csv").open(encoding="utf-8", newline="") as sample:
        rows = list(csv.DictReader(sample))
    for row in rows[: len(rows) // 5]:
        row["producto"] = ""
    path = directory / "ventas.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_run_moves_the_series_and_every_dashboard_query_has_data(monitored):
    stack, prometheus, _ = monitored
    finished = 'sum(dagster_runs_finished_total{job="procesar_ventas", status="SUCCESS"})'
    timed = 'sum(dagster_run_duration_seconds_count{job="procesar_ventas"})'
    delayed = "sum(dagster_run_launch_delay_seconds_count)"
    before = {expr: prometheus.value(expr) for expr in (finished, timed, delayed)}
    run_id = stack.launch("procesar_ventas")
    assert stack.wait_for_run(run_id)["status"] == "SUCCESS"
    wait_until(
        lambda: prometheus.value(finished) == before[finished] + 1,
        60,
        "the finished run in Prometheus",
    )
    assert prometheus.value(timed) == before[timed] + 1
    assert prometheus.value(delayed) >= before[delayed] + 1  # other runs may end meanwhile
    assert prometheus.value('dagster_asset_check_passed{check="precio_no_negativo"}') == 1
    for location in ("ventas", "informes", "plataforma"):
        assert prometheus.value(f'dagster_code_location_up{{location="{location}"}}') == 1
    wait_until(
        lambda: prometheus.query('dagster_tick_timestamp_seconds{type="sensor"}'),
        60,
        "a sensor's tick in Prometheus",
    )

    empty = [title for title, expr in panel_queries() if not prometheus.query(expr)]
    assert not empty, f"dashboard panels without data: {empty}"

    scrape = prometheus.value('max_over_time(scrape_duration_seconds{job="dagster"}[5m])')
    cpu = prometheus.value('rate(process_cpu_seconds_total{job="dagster"}[1m])')
    print(f"metrics: slowest scrape {scrape * 1000:.0f} ms; CPU {cpu * 100:.1f} % of a core")
    assert scrape < 1


def test_alerts_reach_the_receiver_and_say_when_they_clear(monitored, tmp_path):
    stack, prometheus, receiver = monitored
    with sales_from(stack, sales_with_empty_products(tmp_path)):
        run_id = stack.launch("procesar_ventas")
        assert stack.wait_for_run(run_id)["status"] == "SUCCESS"  # a warning: the run goes on
    seen = len(receiver.all_posts())  # only what the pause and the stop bring counts
    with docker_events(
        f"label=com.docker.compose.project={stack.project}", "event=pause"
    ) as events:
        stack.compose("pause", "daemon")
        wait_until(lambda: events, 30, "Docker's pause event")
    paused_at = events[0]["timeNano"] / 1e9
    try:
        stack.compose("stop", "informes")
        stopped_at = docker_seconds(stack.containers()["informes"]["State"]["FinishedAt"])
        told = alerts_told(prometheus, receiver, seen, paused_at, stopped_at)
    finally:
        stack.compose("unpause", "daemon")
    unpaused_at = time.time()
    wait_until(
        lambda: posted(receiver, "RESOLVED: Dagster daemon", after=seen), 90, "its resolution"
    )
    print(
        f"alerts told after: daemon paused {told[0]:.0f} s, location stopped {told[1]:.0f} s; "
        f"resolved {time.time() - unpaused_at:.0f} s after unpausing"
    )
    assert told[0] < DAEMON_ALERT_WITHIN
    first = posted(receiver, "FIRING: Dagster daemon", after=seen)[0]
    assert "First: " in first, first
    stack.compose("start", "informes")


def alerts_told(
    prometheus, receiver, seen: int, paused_at: float, stopped_at: float
) -> tuple[float, float]:
    """Seconds from the daemon's pause and the location's stop to their alerts' arrival (among
    the posts after the `seen` first), once the three alerts have arrived (and Prometheus' UI
    shows them)."""
    wait_until(
        lambda: posted(receiver, "FIRING: Code location informes", after=seen),
        60,
        "the location alert",
    )
    location_told = time.time() - stopped_at
    wait_until(
        lambda: posted(receiver, "FIRING: Dagster daemon", after=seen),
        DAEMON_ALERT_WITHIN + 30,
        "the daemon alert",
    )
    daemon_told = time.time() - paused_at
    wait_until(
        lambda: posted(receiver, "FIRING: Check proporcion_de_nulos of asset ventas_raw"),
        60,
        "the check alert",
    )
    shown = {alert["labels"]["alertname"] for alert in prometheus.alerts()}
    assert {"DagsterDaemonStalled", "DagsterCodeLocationDown", "DagsterAssetCheckFailed"} <= shown
    return daemon_told, location_told
