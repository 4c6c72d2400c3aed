"""stack.migrate, the migrate service's command (stack-migrate): a bad setting is named before
anything connects. (With a database, in Docker: tests/e2e/test_config_errors.py.)"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

MIGRATE = Path(sys.executable).with_name("stack-migrate")
SETTINGS = {
    "DAGSTER_POSTGRES_HOST": "postgres",
    "DAGSTER_POSTGRES_USER": "dagster",
    "DAGSTER_POSTGRES_PASSWORD": "dagster",
    "DAGSTER_POSTGRES_DB": "dagster",
    "DAGSTER_MAX_CONCURRENT_RUNS": "4",
    "DAGSTER_RUN_MEMORY": "2g",
    "DAGSTER_RUN_CPUS": "1.5",
}


def migrate_with(**changes: str | None) -> subprocess.CompletedProcess:
    """The migrate step's own command, run here with these settings changed (None: unset)."""
    env = {**SETTINGS, **changes, "PATH": os.environ["PATH"]}
    return subprocess.run(
        [str(MIGRATE)],
        text=True,
        capture_output=True,
        timeout=60,
        env={k: v for k, v in env.items() if v is not None},
    )


@pytest.mark.parametrize("limit", ["dos", "--5", "2.5", "-3", " 4"])
def test_a_malformed_run_limit_is_named_before_anything_connects(limit):
    result = migrate_with(DAGSTER_MAX_CONCURRENT_RUNS=limit)
    assert result.returncode == 1
    assert result.stderr == (
        f"migrate: DAGSTER_MAX_CONCURRENT_RUNS={limit!r}: use a whole "
        "number of runs (-1: no limit).\n"
    )


def test_a_missing_setting_is_named():
    result = migrate_with(DAGSTER_POSTGRES_PASSWORD=None, DAGSTER_MAX_CONCURRENT_RUNS="")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "migrate: missing environment variable(s) "
        "DAGSTER_POSTGRES_PASSWORD, DAGSTER_MAX_CONCURRENT_RUNS:"
    )


@pytest.mark.parametrize(
    "setting, value, expected",
    [
        ("DAGSTER_RUN_MEMORY", "2 GB", "DAGSTER_RUN_MEMORY='2 GB' is not a memory size"),
        ("DAGSTER_RUN_MEMORY", "0", "DAGSTER_RUN_MEMORY='0' is not a memory size"),
        ("DAGSTER_RUN_CPUS", "all", "DAGSTER_RUN_CPUS='all' is not a number of CPUs"),
        ("DAGSTER_RUN_CPUS", "-1", "DAGSTER_RUN_CPUS='-1' is not a number of CPUs"),
    ],
)
def test_a_run_limit_docker_cannot_take_is_named(setting, value, expected):
    result = migrate_with(**{setting: value})
    assert result.returncode == 1
    assert result.stderr.startswith(f"migrate: {expected}"), result.stderr


@pytest.mark.parametrize("days", ["90d", "-1", "1.5", "noventa"])
def test_a_malformed_retention_is_named_before_anything_connects(days):
    result = migrate_with(DAGSTER_RUN_RETENTION_DAYS=days)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"migrate: DAGSTER_RUN_RETENTION_DAYS={days!r} is not a whole number of days; use one "
        "such as 90 (the default), or 0 to keep every run."
    )


@pytest.mark.parametrize("seconds", ["10m", "-1", "1.5"])
def test_a_malformed_standby_time_is_named_before_anything_connects(seconds):
    result = migrate_with(DAGSTER_RUN_STANDBY_SECONDS=seconds)
    assert result.returncode == 1
    assert result.stderr.startswith(f"migrate: DAGSTER_RUN_STANDBY_SECONDS={seconds!r}: use a")
