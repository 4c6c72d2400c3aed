"""A bad configuration stops the stack at start-up with a message that says what is wrong and
how to fix it; no service is left restarting in a loop."""

import dataclasses
import re
import subprocess

import pytest

from tests.e2e.compose_stack import Stack, new_project_name, project_copy


@pytest.fixture(scope="module")
def created(docker_ready):
    """A stack whose images are built and whose database exists, created with the defaults."""
    stack = Stack(project=new_project_name("ventas-e2e-config"))
    try:
        stack.prepare_data()
        stack.build()
        stack.up("postgres")
        yield stack
    finally:
        stack.destroy()


def up(stack: Stack) -> subprocess.CompletedProcess:
    return stack.compose("up", "--detach", "--wait", check=False, timeout=300)


def assert_stopped_at_migrate(stack: Stack, message: str) -> None:
    result = up(stack)
    assert result.returncode != 0
    assert 'service "migrate" didn\'t complete successfully' in result.stdout + result.stderr
    log = stack.compose("logs", "--no-color", "migrate").stdout
    assert re.search(message, log, flags=re.DOTALL), log
    containers = stack.containers()
    for service in ("webserver", "daemon"):  # never started, so never restarting
        state = containers[service]["State"]
        assert state["Status"] == "created" and containers[service]["RestartCount"] == 0


def test_a_changed_postgres_password_says_why_and_what_to_do(created):
    wrong = dataclasses.replace(created, extra_env={"POSTGRES_PASSWORD": "otra"})
    assert_stopped_at_migrate(
        wrong,
        r"Postgres refused the password .* set it back to the "
        r"password the volume was created with",
    )


def test_a_run_limit_that_is_not_a_number_is_named(created):
    wrong = dataclasses.replace(created, extra_env={"DAGSTER_MAX_CONCURRENT_RUNS": "dos"})
    assert_stopped_at_migrate(wrong, r"DAGSTER_MAX_CONCURRENT_RUNS='dos': use a whole number")


def test_a_bad_code_location_setting_shows_in_the_ui_without_a_crash_loop(created):
    wrong = dataclasses.replace(created, extra_env={"VENTAS_TIMEZONE": "Madrid"})
    assert up(wrong).returncode == 0  # the instance is fine; only the code location is not
    error = wrong.location()["locationOrLoadError"]
    assert error["__typename"] == "PythonError"
    messages = [e["error"]["message"] for e in error["errorChain"]] + [error["message"]]
    assert any("VENTAS_TIMEZONE='Madrid' is not a time zone" in m for m in messages), messages
    assert wrong.containers()["user_code"]["RestartCount"] == 0

    assert up(created).returncode == 0  # set right again, it recovers
    created.wait_for_location()


@pytest.mark.usefixtures("docker_ready")
def test_an_invalid_dagster_yaml_is_reported_by_the_migrate_step(tmp_path):
    source = project_copy(tmp_path)
    config = source / "dagster.yaml"
    good = config.read_text(encoding="utf-8")
    bad = good.replace("run_monitoring:", "run_monitorng:")
    message = (
        r"cannot load the Dagster instance from "
        r"/opt/dagster/dagster_home/dagster.yaml.*run_monitorng"
    )
    stack = Stack(project=new_project_name("ventas-e2e-yaml"), project_dir=source)
    try:
        stack.prepare_data()
        config.write_text(bad, encoding="utf-8")
        stack.build()
        assert_stopped_at_migrate(stack, message)  # on new volumes
        # Set right, the stack starts; broken again in a rebuilt image, it stops at migrate
        # again: a database migrated before is no reason to trust another configuration.
        config.write_text(good, encoding="utf-8")
        stack.build()
        assert up(stack).returncode == 0
        config.write_text(bad, encoding="utf-8")
        stack.build()
        assert_stopped_at_migrate(stack, message)
    finally:
        stack.destroy()


@pytest.mark.usefixtures("docker_ready")
def test_a_missing_data_directory_is_named(tmp_path):
    stack = Stack(
        project=new_project_name("ventas-e2e-nodata"),
        extra_env={"VENTAS_DATA_DIR": str(tmp_path / "no-such-dir")},
    )
    try:
        result = stack.compose("up", "--detach", "--wait", check=False)
        assert result.returncode != 0
        assert str(tmp_path / "no-such-dir") in result.stdout + result.stderr
        assert "no such file or directory" in result.stdout + result.stderr
    finally:
        stack.destroy()
