"""deploy/kubernetes/values.py: the chart's values that mirror dagster.yaml are written from it,
and the committed values.yaml is never stale (like the lock's check)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.kubernetes

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "kubernetes" / "values.py"
_spec = importlib.util.spec_from_file_location("kubernetes_values", SCRIPT)
assert _spec and _spec.loader
values = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(values)


def instance() -> dict:
    return yaml.safe_load((REPO / "dagster.yaml").read_text())


def defaults() -> dict:
    return values.compose_defaults(yaml.safe_load((REPO / "docker-compose.yml").read_text()))


def test_the_committed_values_match_dagster_yaml():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_env_settings_take_docker_composes_defaults():
    blocks = values.chart_blocks(instance(), defaults())
    queue = blocks["daemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["maxConcurrentRuns"] == int(defaults()["DAGSTER_MAX_CONCURRENT_RUNS"]) == 4
    assert blocks["run-launcher"] == {"resources": {"limits": {"memory": "2Gi", "cpu": "1500m"}}}


@pytest.mark.parametrize(
    "docker, kubernetes",
    [("2g", "2Gi"), ("512m", "512Mi"), ("512M", "512Mi"), ("64k", "64Ki"), ("1000000", "1000000")],
)
def test_dockers_memory_sizes_become_kubernetes_quantities(docker, kubernetes):
    assert values.memory(docker) == kubernetes


@pytest.mark.parametrize("docker, kubernetes", [("1.5", "1500m"), ("2", "2"), ("0.25", "250m")])
def test_dockers_cpus_become_kubernetes_quantities(docker, kubernetes):
    assert values.cpus(docker) == kubernetes


def test_a_bad_limit_is_named_with_the_fix():
    with pytest.raises(ValueError, match="DAGSTER_RUN_MEMORY='mucha' is not a memory size"):
        values.memory("mucha")


def test_a_retention_left_out_keeps_dagsters_default_and_the_chart_wants_all_four():
    retention = values.chart_blocks(instance(), defaults())["instance"]["retention"]
    # dagster.yaml: skipped 7, failure 30, success -1; started is Dagster's default, -1.
    assert retention["sensor"]["purgeAfterDays"] == {
        "started": -1,
        "skipped": 7,
        "success": -1,
        "failure": 30,
    }
    assert retention["autoMaterialize"] is None  # dropped: Dagster's default applies


def test_a_setting_it_does_not_know_stops_it():
    changed = {**instance(), "run_queue": {"max_concurrent_runs": 3}}
    with pytest.raises(
        values.SettingError, match=r"dagster.yaml has run_queue.max_concurrent_runs"
    ):
        values.chart_blocks(changed, defaults())


def test_an_env_setting_without_a_default_stops_it():
    changed = instance()
    changed["run_retries"]["max_retries"] = {"env": "DAGSTER_MAX_RETRIES"}
    with pytest.raises(values.SettingError, match="reads DAGSTER_MAX_RETRIES"):
        values.chart_blocks(changed, defaults())


def test_a_block_is_rewritten_and_the_text_around_it_kept():
    text = (
        "a: 1  # by hand\n  # >>> dagster.yaml: daemon (note)\n  stale: true\n"
        "  # <<< daemon\nb: 2\n"
    )
    blocks = {"daemon": {"runRetries": {"enabled": True}}}
    assert values.render(text, blocks) == (
        "a: 1  # by hand\n  # >>> dagster.yaml: daemon (note)\n"
        "  runRetries:\n    enabled: true\n  # <<< daemon\nb: 2\n"
    )
