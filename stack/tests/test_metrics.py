"""The exporter's relay of Alertmanager's notifications, against a real webhook receiver. Its
series are read from a real stack in tests/e2e/test_monitoring.py."""

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from stack import metrics, notify

FIRING = {
    "status": "firing",
    "groupKey": '{}:{alertname="DagsterDaemonStalled"}',
    "commonLabels": {"alertname": "DagsterDaemonStalled"},
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "DagsterDaemonStalled", "daemon": "SENSOR"},
            "annotations": {
                "summary": "The SENSOR daemon has sent no heartbeat for 3m",
                "description": "Sensors are not evaluated.",
                "action": "docker compose logs daemon",
            },
        }
    ],
}


def serve(handler) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receiver():
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

    server = serve(Receiver)
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


@pytest.fixture
def relay(monkeypatch):
    server = serve(metrics.Handler)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def post(url: str, payload: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_firing_alert_says_what_is_wrong_and_what_to_do_first():
    notice = metrics.notice_of(FIRING)
    assert notice.subject == "[FIRING (1)] The SENSOR daemon has sent no heartbeat for 3m"
    assert notice.text.splitlines() == [
        "FIRING: The SENSOR daemon has sent no heartbeat for 3m",
        "Sensors are not evaluated.",
        "First: docker compose logs daemon",
    ]


def test_a_resolved_alert_says_so():
    resolved = {**FIRING, "status": "resolved"}
    resolved["alerts"] = [{**FIRING["alerts"][0], "status": "resolved"}]
    notice = metrics.notice_of(resolved)
    assert notice.subject.startswith("[RESOLVED]")
    assert notice.text == "RESOLVED: The SENSOR daemon has sent no heartbeat for 3m"


def test_the_relay_sends_to_the_alert_webhook(receiver, relay, monkeypatch):
    url, received = receiver
    monkeypatch.setattr(
        metrics.Handler, "senders", notify.channels_from(url, None, "a@example.com", ())
    )
    assert post(f"{relay}/alertmanager", FIRING) == 200
    assert received[0]["text"].startswith("FIRING: The SENSOR daemon")


def test_a_receiver_that_fails_makes_alertmanager_retry(relay, monkeypatch):
    dead = "http://127.0.0.1:1/hook"
    monkeypatch.setattr(
        metrics.Handler, "senders", notify.channels_from(dead, None, "a@example.com", ())
    )
    before = metrics.errors.labels("alert_webhook")._value.get()
    assert post(f"{relay}/alertmanager", FIRING) == 502
    assert metrics.errors.labels("alert_webhook")._value.get() == before + 1


def test_without_channels_alerts_are_accepted_and_dropped(relay, monkeypatch):
    monkeypatch.setattr(metrics.Handler, "senders", {})
    assert post(f"{relay}/alertmanager", FIRING) == 200
    assert post(f"{relay}/alertmanager", {"alerts": "nonsense"}) == 400


@pytest.mark.parametrize("value", ["0", "ten", "1.5"])
def test_a_bad_interval_is_named(value):
    with pytest.raises(SystemExit) as error:
        metrics.interval_from({"DAGSTER_METRICS_INTERVAL": value})
    assert str(error.value).startswith(f"DAGSTER_METRICS_INTERVAL={value!r} is not")


def test_a_jobs_first_run_is_counted_once_a_scrape_has_seen_its_zero(tmp_path, monkeypatch):
    """A counter that appears at 1 shows no increase() in Prometheus: the first failure of a
    job would be missed by the alert on failed runs."""
    with dg.instance_for_test() as instance:
        exporter = metrics.Exporter(instance, tmp_path / "workspace.yaml", interval=1)
        job = dg.define_asset_job("trabajo", selection=[dg.asset(lambda: 1, name="uno")])
        defs = dg.Definitions(assets=[dg.asset(lambda: 1, name="uno")], jobs=[job])
        result = defs.resolve_job_def("trabajo").execute_in_process(instance=instance)
        assert result.success

        def finished() -> float:
            return metrics.REGISTRY.get_sample_value(
                "dagster_runs_finished_total",
                {"location": "", "job": "trabajo", "status": "SUCCESS"},
            )

        monkeypatch.setattr(metrics.Handler, "scraped_at", 0.0)
        exporter.read_finished_runs()
        assert finished() == 0  # the series exists, at 0
        exporter.read_finished_runs()
        assert finished() == 0  # no scrape has seen it yet
        monkeypatch.setattr(metrics.Handler, "scraped_at", time.time())
        exporter.read_finished_runs()
        assert finished() == 1
        exporter.read_finished_runs()
        assert finished() == 1  # once
