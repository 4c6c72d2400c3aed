"""deploy/monitoring/grafana-dashboard.json without Grafana: it imports with one Prometheus data
source, every panel queries the exporter's metrics and nothing else of dagster_*, every metric
has a panel; and, in the Prometheus image's promtool, every query parses and returns numbers
on the series of a quiet healthy stack. A live stack's Prometheus answers them in the
end-to-end tests (tests.dashboard.panel_queries)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.dashboard import load, panel_queries, panels
from tests.deploy.images import PROMETHEUS, in_image

DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# The exporter's series; a histogram's as Prometheus stores it.
GAUGES_AND_COUNTERS = {
    "dagster_daemon_heartbeat_timestamp_seconds",
    "dagster_code_location_up",
    "dagster_runs",
    "dagster_run_queue_oldest_age_seconds",
    "dagster_run_queue_max_concurrent_runs",
    "dagster_runs_finished_total",
    "dagster_tick_timestamp_seconds",
    "dagster_asset_materialization_timestamp_seconds",
    "dagster_asset_check_passed",
    "dagster_postgres_database_size_bytes",
    "dagster_instance_up",
    "dagster_exporter_errors_total",
}
HISTOGRAMS = {"dagster_run_duration_seconds", "dagster_run_launch_delay_seconds"}
SERIES = GAUGES_AND_COUNTERS | {
    f"{name}_{suffix}" for name in HISTOGRAMS for suffix in ("bucket", "sum", "count")
}
# Context a dashboard may do without.
OPTIONAL = {"dagster_run_queue_max_concurrent_runs", "dagster_instance_up"}
# The quiet stack's schedule or sensor, and its one Dagster job as the panels per job show it.
SENSOR = {"location": "ventas", "name": "entrantes", "type": "sensor"}
JOB = '{job="procesar_ventas"}'
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def metrics(expr: str) -> set[str]:
    """The dagster_* names an expr reads; a label value may say anything."""
    return set(re.findall(r"\bdagster_\w+", QUOTED.sub('""', expr)))


def measured(name: str) -> str:
    """The exporter's metric a series belongs to: a histogram's for its _bucket."""
    return next((h for h in HISTOGRAMS if name.startswith(f"{h}_")), name)


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return load()


@pytest.fixture(scope="module")
def charts(dashboard) -> list[dict]:
    return [panel for panel in panels(dashboard) if panel["type"] != "row"]


def test_it_imports_with_one_prometheus_to_choose(dashboard):
    assert (dashboard["title"], dashboard["uid"]) == ("ventas-dagster", "ventas-dagster")
    [source] = dashboard["__inputs"]
    assert (source["name"], source["type"], source["pluginId"]) == (
        "DS_PROMETHEUS",
        "datasource",
        "prometheus",
    )
    # An id from another Grafana would clash on import.
    assert dashboard["id"] is None


def test_every_panel_and_target_queries_that_prometheus(charts):
    for panel in charts:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


def test_panel_ids_are_unique(dashboard):
    repeated = Counter(panel["id"] for panel in panels(dashboard))
    assert [id_ for id_, n in repeated.items() if n > 1] == []


def test_every_query_reads_the_exporters_metrics_and_no_other_dagster_name(charts):
    for panel in charts:
        for target in panel["targets"]:
            named = metrics(target["expr"])
            assert named, f"{panel['title']}: {target['expr']} reads none of the exporter's"
            assert named <= SERIES, f"{panel['title']}: unknown {sorted(named - SERIES)}"


def test_every_metric_has_a_panel(charts):
    shown = {measured(m) for panel in charts for t in panel["targets"] for m in metrics(t["expr"])}
    assert (GAUGES_AND_COUNTERS | HISTOGRAMS) - OPTIONAL - shown == set()


def test_seconds_and_bytes_are_shown_in_their_unit(charts):
    for panel in charts:
        named = {m for t in panel["targets"] for m in metrics(t["expr"])}
        unit = panel["fieldConfig"]["defaults"]["unit"]
        if any(m.endswith(("_seconds", "_seconds_bucket")) for m in named):
            assert unit == "s", panel["title"]
        if any(m.endswith("_bytes") for m in named):
            assert unit == "bytes", panel["title"]


def test_each_query_leaves_no_grafana_variable_for_prometheus(charts):
    queries = panel_queries()
    assert len(queries) == sum(len(panel["targets"]) for panel in charts)
    for title, expr in queries:
        assert not re.search(r"\$[A-Za-z_{]|\[\[", expr), f"{title}: {expr}"


def promtool(work: Path, *args: str) -> str:
    """promtool of the stack's Prometheus image, offline, with `work` as /r."""
    # The image runs as nobody; pytest makes tmp_path for its owner only.
    work.chmod(0o755)
    return in_image(PROMETHEUS, "/bin/promtool", work, "/r", *args)


@pytest.mark.usefixtures("docker_ready")
def test_promtool_parses_every_query(tmp_path):
    # As recording rules: promtool checks a rule file's PromQL without a server.
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr}
        for i, (_, expr) in enumerate(panel_queries())
    ]
    groups = {"groups": [{"name": "dashboard", "rules": rules}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(groups))
    output = promtool(tmp_path, "check", "rules", "/r/rules.yml")
    assert f"SUCCESS: {len(rules)} rules found" in output


def series(metric: str, /, **labels: str) -> str:
    return metric + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def quiet_stack(job_labels: dict[str, str]) -> list[dict]:
    """Ten minutes of a healthy stack's series, scraped every 15 s: one run finished at 5 min;
    nothing failed, queued or in progress; no exporter error. `job_labels` is how the run's
    Dagster job reaches Prometheus."""
    run = {"location": "ventas", **job_labels, "status": "SUCCESS"}
    from_5m = "_x20 1x20"
    values = {
        series("dagster_daemon_heartbeat_timestamp_seconds", daemon="SCHEDULER"): "0+15x40",
        series("dagster_daemon_heartbeat_timestamp_seconds", daemon="SENSOR"): "0+15x40",
        series("dagster_code_location_up", location="ventas"): "1x40",
        series("dagster_runs_finished_total", **run): from_5m,
        series("dagster_run_duration_seconds_bucket", **run, le="30"): "_x20 0x20",
        series("dagster_run_duration_seconds_bucket", **run, le="+Inf"): from_5m,
        series("dagster_run_launch_delay_seconds_bucket", location="ventas", le="1"): "_x20 0x20",
        series("dagster_run_launch_delay_seconds_bucket", location="ventas", le="+Inf"): from_5m,
        # A sensor skipping every tick, and the series its earlier successful tick left.
        series("dagster_tick_timestamp_seconds", **SENSOR, status="SKIPPED"): "0+15x40",
        series("dagster_tick_timestamp_seconds", **SENSOR, status="SUCCESS"): "300x40",
        series("dagster_asset_materialization_timestamp_seconds", asset_key="ventas_raw"): (
            "_x20 300x20"
        ),
        series("dagster_asset_check_passed", asset_key="ventas_raw", check="c"): from_5m,
        series("dagster_postgres_database_size_bytes"): "8e6x40",
        series("dagster_instance_up"): "1x40",
    }
    return [{"series": name, "values": v} for name, v in values.items()]


@pytest.mark.parametrize(
    "job_labels",
    [
        # Prometheus' default: its own job label wins, the exporter's becomes exported_job.
        {"job": "dagster", "exported_job": "procesar_ventas"},
        # honor_labels: true.
        {"job": "procesar_ventas"},
    ],
    ids=["exported_job", "honor_labels"],
)
@pytest.mark.usefixtures("docker_ready")
def test_on_a_quiet_healthy_stack_every_query_returns_numbers(tmp_path, job_labels):
    cases = [
        # Only a number equals itself: an empty result or NaN fails.
        {"expr": f"vector(1) and on () (({expr}) == ({expr}))", "exp_samples": [{"value": 1}]}
        for _, expr in panel_queries()
    ] + [
        {"expr": f"group by (job) ({expr})", "exp_samples": [{"labels": JOB, "value": 1}]}
        for _, expr in panel_queries()
        if "by (job" in expr
    ]
    for case in cases:
        case["eval_time"] = "10m"
    test = {"interval": "15s", "input_series": quiet_stack(job_labels), "promql_expr_test": cases}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump({"rule_files": [], "tests": [test]}))
    promtool(tmp_path, "test", "rules", "/r/tests.yml")
