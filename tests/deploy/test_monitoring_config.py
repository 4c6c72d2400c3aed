"""deploy/monitoring/ in the tools of the images the stack runs: Prometheus's configuration and
rules (`promtool check config`, `check rules`, and rules_test.yml's unit tests, `promtool test
rules`) and Alertmanager's configuration (`amtool check-config`), each in a throwaway container
with no network; and every alert in rules.yml tested firing and not firing in rules_test.yml,
with a summary, a description and an action. Without Docker the container tests skip, unless
CI is set: then they fail."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.deploy.images import ALERTMANAGER, PROMETHEUS, in_image

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
# Where Prometheus mounts this folder: prometheus.yml names rules.yml by that path.
PROMETHEUS_DIR = "/etc/prometheus/monitoring"
ALERTMANAGER_DIR = "/etc/alertmanager/monitoring"


def promtool(*args: str) -> str:
    return in_image(PROMETHEUS, "/bin/promtool", MONITORING, PROMETHEUS_DIR, *args)


@pytest.mark.usefixtures("docker_ready")
def test_prometheus_takes_the_configuration_and_its_rules():
    output = promtool("check", "config", f"{PROMETHEUS_DIR}/prometheus.yml")
    assert "SUCCESS: 1 rule files found" in output


@pytest.mark.usefixtures("docker_ready")
def test_the_rules_are_valid():
    promtool("check", "rules", f"{PROMETHEUS_DIR}/rules.yml")


@pytest.mark.usefixtures("docker_ready")
def test_the_rules_pass_their_unit_tests():
    promtool("test", "rules", f"{PROMETHEUS_DIR}/rules_test.yml")


@pytest.mark.usefixtures("docker_ready")
def test_alertmanager_takes_its_configuration():
    config = f"{ALERTMANAGER_DIR}/alertmanager.yml"
    in_image(ALERTMANAGER, "/bin/amtool", MONITORING, ALERTMANAGER_DIR, "check-config", config)


def test_every_alert_is_tested_firing_and_not_and_says_what_to_do():
    rules = yaml.safe_load((MONITORING / "rules.yml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    cases = [
        case
        for test in yaml.safe_load((MONITORING / "rules_test.yml").read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    firing = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}

    assert alerts
    assert sorted(set(alerts) - firing) == [], "alerts with no test where they fire"
    assert sorted(set(alerts) - quiet) == [], "alerts with no test where they do not fire"
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        annotations = rule["annotations"]
        for key in ("summary", "description", "action"):
            assert annotations.get(key, "").strip(), f"{name} has no {key}"
        assert "\n" not in annotations["summary"], f"{name}'s summary is not one line"
