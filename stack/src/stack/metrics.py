"""The stack's Prometheus exporter (`stack-metrics`, the monitoring profile's `metrics` service).

It reads the instance through Dagster's Python API and its Postgres database, and each code
server over gRPC, never through the webserver, so that it tells the truth when the daemon or
the UI do not: a background loop refreshes a snapshot every DAGSTER_METRICS_INTERVAL seconds
and a scrape only renders it, in well under a second, whatever the database is doing. A part
that cannot be read (Postgres down, a location not answering) leaves its series out or says
so (dagster_instance_up, dagster_code_location_up) and counts an error in
dagster_exporter_errors_total; the exporter itself goes on.

It also receives Alertmanager's notifications (POST /alertmanager) and sends them to the
channels of the DAGSTER_ALERT_* settings, the same as the alerts on failed runs (stack.notify).
The series and what they mean: docs/operations.md#metrics-and-alerts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import yaml
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from sqlalchemy.exc import DBAPIError

from stack import compat, notify

PORT = 9464
IN_PROGRESS = ("QUEUED", "STARTING", "STARTED", "CANCELING")
FINISHED = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
# Seconds a code server has to answer; a broken one answers at once with its load error.
LOCATION_TIMEOUT = 3
# Runs are counted as they end, by their update time: each look goes this far back, so that
# a run updated in the same instant as the last look is not missed (it is counted once).
OVERLAP = timedelta(seconds=30)

log = logging.getLogger("stack.metrics")

runs_finished = Counter(
    "dagster_runs_finished",
    "Runs that ended since the exporter started, by code location, job and status.",
    ["location", "job", "status"],
)
run_duration = Histogram(
    "dagster_run_duration_seconds",
    "From start to end of each run that ended.",
    ["location", "job", "status"],
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200),
)
launch_delay = Histogram(
    "dagster_run_launch_delay_seconds",
    "From creation to start of each run that ended: the queue and its container's start.",
    ["location"],
    buckets=(0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
)
errors = Counter(
    "dagster_exporter_errors",
    "What the exporter failed to read or send, by part.",
    ["part"],
)


def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def location_of(run: dg.DagsterRun) -> str:
    origin = run.remote_job_origin
    return origin.repository_origin.code_location_origin.location_name if origin else ""


def observe(record, location: str, job: str) -> None:
    status = record.dagster_run.status.value
    runs_finished.labels(location, job, status).inc()
    if record.start_time is not None:
        if record.end_time is not None:
            run_duration.labels(location, job, status).observe(record.end_time - record.start_time)
        launch_delay.labels(location).observe(
            record.start_time - record.create_timestamp.timestamp()
        )


class Snapshot(Collector):
    """What the last refresh read, rendered at each scrape. The instance's part is dropped
    (and dagster_instance_up says 0) once it is older than `stale_after` seconds: a refresh
    that hangs on an unresponsive database reads as one that failed."""

    def __init__(self, stale_after: float):
        self.stale_after = stale_after
        self.instance: list[Metric] = []
        self.instance_at = 0.0
        self.locations: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        fresh = time.time() - self.instance_at < self.stale_after
        up = gauge("dagster_instance_up", "1 when the last look read the instance's database.")
        up.add_metric([], 1 if fresh else 0)
        yield up
        if fresh:
            yield from self.instance
        yield from self.locations


class Exporter:
    def __init__(self, instance: dg.DagsterInstance, workspace: Path, interval: int):
        self.instance = instance
        self.workspace = workspace
        self.interval = interval
        self.snapshot = Snapshot(stale_after=3 * interval + 10)
        # Counted from now: the counter means runs that ended since the exporter started.
        self.cursor = datetime.now(UTC)
        self.counted: dict[str, datetime] = {}
        # Ended runs of jobs whose zeroed series no scrape has seen yet; when each job's were
        # zeroed.
        self.waiting: list = []
        self.zeroed: dict[tuple[str, str], float] = {}

    # --- the code locations, over gRPC -------------------------------------------------

    def servers(self) -> list[tuple[str, str, int]]:
        """(location, host, port) of each gRPC server in workspace.yaml."""
        found = []
        for entry in (yaml.safe_load(self.workspace.read_text()) or {}).get("load_from", []):
            server = entry.get("grpc_server") if isinstance(entry, dict) else None
            if server:
                location = server.get("location_name") or f"{server['host']}:{server['port']}"
                found.append((location, server["host"], int(server["port"])))
        return found

    def read_locations(self) -> list[Metric]:
        up = gauge(
            "dagster_code_location_up",
            "1 when the code location's server answers and its code loaded without error.",
            ["location"],
        )
        for location, host, port in self.servers():
            problem = compat.location_load_error(host, port, LOCATION_TIMEOUT)
            if problem:
                log.warning("code location %s is down: %s", location, notify.first_line(problem))
            up.add_metric([location], 0 if problem else 1)
        return [up]

    # --- the instance, through Dagster's API and Postgres ------------------------------

    def read_instance(self) -> list[Metric] | None:
        """Every series of the instance, or None if the database could not be read (the
        parts read before are dropped too: a half-read instance would mislead)."""
        families: list[Metric] = []
        for part, read in self.parts().items():
            try:
                families.extend(read())
            except DBAPIError:
                errors.labels(part).inc()
                log.warning("could not read the instance's database (%s)", part, exc_info=True)
                return None
            except Exception:  # one part's bug must not silence the others
                errors.labels(part).inc()
                log.exception("could not read %s", part)
        return families

    def parts(self) -> Mapping[str, Callable[[], list[Metric]]]:
        return {
            "runs": self.read_runs,
            "finished_runs": self.read_finished_runs,
            "daemons": self.read_daemons,
            "ticks": self.read_ticks,
            "assets": self.read_assets,
            "checks": self.read_checks,
            "database": self.read_database,
        }

    def read_runs(self) -> list[Metric]:
        runs = gauge("dagster_runs", "Runs now in each status that is not final.", ["status"])
        for status in IN_PROGRESS:
            count = self.instance.get_runs_count(
                dg.RunsFilter(statuses=[dg.DagsterRunStatus(status)])
            )
            runs.add_metric([status], count)
        oldest = self.instance.get_run_records(
            dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]),
            limit=1,
            order_by="create_timestamp",
            ascending=True,
        )
        age = gauge(
            "dagster_run_queue_oldest_age_seconds",
            "Age of the oldest queued run; 0 when none waits.",
        )
        age.add_metric([], time.time() - oldest[0].create_timestamp.timestamp() if oldest else 0)
        limit = gauge(
            "dagster_run_queue_max_concurrent_runs", "How many runs may be in progress at once."
        )
        queue = self.instance.get_concurrency_config().run_queue_config
        if queue is not None and queue.max_concurrent_runs >= 0:
            limit.add_metric([], queue.max_concurrent_runs)
        return [runs, age, limit]

    def read_finished_runs(self) -> list[Metric]:
        """Count and time the runs that ended since the last look (their series are the
        Counter and Histograms above, which keep their values between looks).

        A job's series first appear at 0, and its runs are counted only once a scrape has
        seen that 0: a counter that appeared at 1 would show no increase() in Prometheus, and
        a job's first failure would go unseen."""
        records = self.instance.get_run_records(
            dg.RunsFilter(statuses=list(FINISHED), updated_after=self.cursor - OVERLAP),
            order_by="update_timestamp",
            ascending=True,
        )
        for record in records:
            run = record.dagster_run
            if run.run_id not in self.counted:
                self.counted[run.run_id] = record.update_timestamp
                self.waiting.append(record)
                self.zero((location_of(run), run.job_name))
        waiting, self.waiting = self.waiting, []
        for record in waiting:
            run = record.dagster_run
            job = (location_of(run), run.job_name)
            if self.zeroed[job] < Handler.scraped_at:
                observe(record, *job)
            else:
                self.waiting.append(record)
        if records:
            self.cursor = max(self.cursor, max(r.update_timestamp for r in records))
        horizon = self.cursor - 2 * OVERLAP
        self.counted = {run_id: at for run_id, at in self.counted.items() if at >= horizon}
        return []

    def zero(self, job: tuple[str, str]) -> None:
        """A job's series, at 0, the first time one of its runs ends."""
        if job in self.zeroed:
            return
        location, name = job
        for status in FINISHED:
            runs_finished.labels(location, name, status.value)
            run_duration.labels(location, name, status.value)
        launch_delay.labels(location)
        self.zeroed[job] = time.time()

    def read_daemons(self) -> list[Metric]:
        heartbeat = gauge(
            "dagster_daemon_heartbeat_timestamp_seconds",
            "Last heartbeat of each daemon the instance needs.",
            ["daemon"],
        )
        heartbeats = self.instance.get_daemon_heartbeats()
        for daemon in self.instance.get_required_daemon_types():
            if daemon in heartbeats:
                heartbeat.add_metric([daemon], heartbeats[daemon].timestamp)
        return [heartbeat]

    def read_ticks(self) -> list[Metric]:
        tick = gauge(
            "dagster_tick_timestamp_seconds",
            "Last tick of each running schedule and sensor, labelled with its status.",
            ["location", "name", "type", "status"],
        )
        running = {compat.InstigatorStatus.RUNNING, compat.InstigatorStatus.DECLARED_IN_CODE}
        for state in self.instance.all_instigator_state(instigator_statuses=running):
            ticks = self.instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
            if not ticks:
                continue
            schedule = state.instigator_type == compat.InstigatorType.SCHEDULE
            kind = "schedule" if schedule else "sensor"
            location = state.origin.repository_origin.code_location_origin.location_name
            tick.add_metric(
                [location, state.instigator_name, kind, ticks[0].status.value],
                ticks[0].timestamp,
            )
        return [tick]

    def read_assets(self) -> list[Metric]:
        materialized = gauge(
            "dagster_asset_materialization_timestamp_seconds",
            "Last materialization of each asset.",
            ["asset_key"],
        )
        for record in self.instance.get_asset_records():
            entry = record.asset_entry
            if entry.last_materialization is not None:
                key = entry.asset_key.to_user_string()
                materialized.add_metric([key], entry.last_materialization.timestamp)
        return [materialized]

    def read_checks(self) -> list[Metric]:
        passed = gauge(
            "dagster_asset_check_passed",
            "1 when the latest evaluation of the asset check passed, 0 when it failed.",
            ["asset_key", "check"],
        )
        for asset_key, check, ok in compat.latest_check_results(self.instance):
            passed.add_metric([asset_key, check], 1 if ok else 0)
        return [passed]

    def read_database(self) -> list[Metric]:
        size = gauge("dagster_postgres_database_size_bytes", "The instance database's size.")
        size.add_metric([], compat.database_size(self.instance))
        return [size]

    # --- the loop ------------------------------------------------------------------------

    def refresh(self) -> None:
        self.snapshot.locations = self.read_locations()
        instance = self.read_instance()
        if instance is not None:
            self.snapshot.instance, self.snapshot.instance_at = instance, time.time()

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            started = time.monotonic()
            try:
                self.refresh()
            except Exception:  # the loop must outlive anything it reads
                errors.labels("refresh").inc()
                log.exception("refresh failed")
            stopping.wait(max(0.0, self.interval - (time.monotonic() - started)))


# --- Alertmanager's notifications, relayed ---------------------------------------------


def notice_of(payload: dict) -> notify.Notice:
    """One message for one Alertmanager notification (a group of alerts): for each alert what
    is wrong and what to do first, from its annotations; "resolved" once it has cleared."""
    alerts = payload.get("alerts") or []
    firing = [a for a in alerts if a.get("status") == "firing"]
    name = (payload.get("commonLabels") or {}).get("alertname") or "Alert"
    lines = []
    for alert in alerts:
        notes, labels = alert.get("annotations") or {}, alert.get("labels") or {}
        summary = notes.get("summary") or labels.get("alertname", name)
        if alert.get("status") == "firing":
            lines += [f"FIRING: {summary}", notes.get("description", "")]
            if notes.get("action"):
                lines.append(f"First: {notes['action']}")
        else:
            lines.append(f"RESOLVED: {summary}")
        lines.append("")
    state = f"FIRING ({len(firing)})" if firing else "RESOLVED"
    first = (alerts[0].get("annotations") or {}).get("summary", name) if alerts else name
    key = f"{payload.get('groupKey', name)}|{payload.get('status')}|{len(firing)}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return notify.Notice(
        subject=f"[{state}] {notify.first_line(first)}",
        text="\n".join(line for line in lines if line is not None).strip(),
        message_id=f"{digest}.{int(time.time())}.alert",
    )


class Handler(BaseHTTPRequestHandler):
    senders: Mapping[str, notify.Sender] = {}
    settings_error: str | None = None
    # When the series were last read: by Prometheus, or anyone.
    scraped_at = 0.0

    def do_GET(self) -> None:
        if self.path == "/metrics":
            started = time.time()
            output = generate_latest(REGISTRY)
            Handler.scraped_at = started
            self.answer(200, output, CONTENT_TYPE_LATEST)
        elif self.path == "/-/healthy":
            self.answer(200, b"ok\n")
        else:
            self.answer(404, b"not found: see /metrics\n")

    def do_POST(self) -> None:
        if self.path != "/alertmanager":
            self.answer(404, b"not found\n")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            notice = notice_of(json.loads(self.rfile.read(length)))
        except (ValueError, AttributeError, TypeError):
            self.answer(400, b"not an Alertmanager notification\n")
            return
        if self.settings_error:
            errors.labels("alert_settings").inc()
            self.answer(500, f"{self.settings_error}\n".encode())
            return
        if not self.senders:
            log.info("alert not sent, no DAGSTER_ALERT_* channel set: %s", notice.subject)
            self.answer(200, b"no channel set\n")
            return
        failed = []
        for channel, send in self.senders.items():
            try:
                send(notice)
            except Exception as error:  # noqa: BLE001 - Alertmanager retries on a 5xx
                errors.labels(f"alert_{channel}").inc()
                failed.append(f"{channel}: {error}")
        if failed:
            log.warning("alert not delivered: %s", "; ".join(failed))
            self.answer(502, ("; ".join(failed) + "\n").encode())
        else:
            self.answer(200, b"sent\n")

    def answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # a line per scrape would drown the log


def interval_from(environ: Mapping[str, str]) -> int:
    value = environ.get("DAGSTER_METRICS_INTERVAL", "").strip() or "10"
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(
            f"DAGSTER_METRICS_INTERVAL={value!r} is not a whole number of seconds; use one such "
            "as 10 (the default), below Prometheus' scrape interval."
        )
    return int(value)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    interval = interval_from(os.environ)
    try:
        Handler.senders = notify.channels_from_env(
            lambda name, default: os.environ.get(name, "").strip() or str(default)
        )
    except notify.ChannelSettingError as error:
        # Metrics go on; each alert to relay fails with this until the setting is fixed.
        Handler.settings_error = str(error)
        print(f"stack-metrics: {error}", file=sys.stderr, flush=True)
    exporter = Exporter(dg.DagsterInstance.get(), Path("workspace.yaml"), interval)
    REGISTRY.register(exporter.snapshot)
    stopping = threading.Event()
    threading.Thread(target=exporter.run, args=(stopping,), daemon=True).start()
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    # As the container's first process, it would ignore `docker stop`'s SIGTERM otherwise.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("serving metrics on :%d/metrics, refreshed every %d s", PORT, interval)
    server.serve_forever()
