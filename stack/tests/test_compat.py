"""stack.compat: one canary for each piece of Dagster's private API the stack uses. A failure
here after an upgrade names what moved; stack/compat.py is the one file to change."""

import inspect
import subprocess
import sys
import time

import dagster as dg
import pytest
from dagster_docker import DockerRunLauncher
from dagster_postgres.event_log import PostgresEventLogStorage

from stack import compat
from tests.e2e.compose_stack import free_port


def test_the_tags_the_launcher_and_the_daemon_write_have_the_names_dagster_reads():
    assert compat.MAX_RETRIES_TAG == "dagster/max_retries"
    assert compat.WILL_RETRY_TAG == "dagster/will_retry"
    assert compat.RUN_FAILURE_REASON_TAG == "dagster/failure_reason"
    assert compat.RETRY_ON_ASSET_OR_OP_FAILURE_TAG == "dagster/retry_on_asset_or_op_failure"


def test_the_retry_decision_the_daemon_patches_is_where_it_was():
    assert compat.RETRIES_MOVED is None
    consumer = compat.event_log_consumer
    assert callable(consumer.consume_new_runs_for_automatic_reexecution)
    parameters = list(inspect.signature(compat.auto_reexecution_should_retry_run).parameters)
    assert parameters[:3] == ["instance", "run", "run_failure_reason"]
    assert compat.RunFailureReason.STEP_FAILURE.value == "STEP_FAILURE"


def test_a_run_worker_health_result_has_the_statuses_the_launcher_returns():
    statuses = {status.name for status in compat.WorkerStatus}
    assert {"RUNNING", "SUCCESS", "FAILED", "NOT_FOUND"} <= statuses
    result = compat.CheckRunHealthResult(compat.WorkerStatus.RUNNING, msg="m")
    assert (result.status, result.msg) == (compat.WorkerStatus.RUNNING, "m")


def test_a_run_record_has_its_run_and_its_end():
    assert {"dagster_run", "end_time"} <= set(compat.RunRecord.__annotations__)


def test_docker_run_launchers_own_members_are_there():
    with dg.instance_for_test() as instance:
        launcher = DockerRunLauncher()
        launcher.register_instance(instance)
        assert compat.launcher_instance(launcher) is instance
    assert list(inspect.signature(DockerRunLauncher._get_client).parameters) == [
        "self",
        "container_context",
    ]
    assert list(inspect.signature(DockerRunLauncher._get_container).parameters) == [
        "self",
        "run",
    ]


def test_what_the_planned_batch_writer_calls_of_dagster_postgres_is_there():
    # storage.PlannedInOneInsert writes a batch with these; tests/e2e/test_storage.py checks
    # that what they write is what dagster-postgres writes one event at a time.
    expected = {
        "store_event_batch": ["self", "events"],
        "prepare_insert_event_batch": ["self", "events"],
        "_connect": ["self"],
        "index_transaction": ["self"],
        "_store_asset_event_tags": ["self", "conn", "events", "event_ids"],
        "_store_asset_event": ["self", "conn", "event", "event_id"],
    }
    found = {
        name: list(inspect.signature(getattr(PostgresEventLogStorage, name)).parameters)
        for name in expected
    }
    assert found == expected


def test_the_storage_is_configured_from_config_class_data():
    data = compat.ConfigurableClassData("stack.storage", "PooledPostgresStorage", "{}")
    assert (data.module_name, data.class_name) == ("stack.storage", "PooledPostgresStorage")


def test_the_default_tick_retention_is_read_per_kind_of_instigator():
    for kind in (compat.InstigatorType.SCHEDULE, compat.InstigatorType.SENSOR):
        retention = compat.get_default_tick_retention_settings(kind)
        assert {status.value for status in retention} >= {"SKIPPED", "SUCCESS", "FAILURE"}


def test_the_tables_and_states_the_exporter_reads_have_their_names():
    columns = set(compat.AssetCheckExecutionsTable.c.keys())
    assert {"id", "asset_key", "check_name", "execution_status"} <= columns
    assert compat.AssetCheckExecutionsTable.name == "asset_check_executions"
    from dagster_postgres.event_log import PostgresEventLogStorage

    assert callable(PostgresEventLogStorage.index_connection)
    assert {s.name for s in compat.InstigatorStatus} >= {"RUNNING", "DECLARED_IN_CODE"}
    assert {s.name for s in compat.TickStatus} == {"STARTED", "SKIPPED", "SUCCESS", "FAILURE"}


GOOD = "import dagster as dg\n\ndefs = dg.Definitions(assets=[dg.asset(lambda: 1, name='a')])\n"
BROKEN = "raise RuntimeError('the code is broken')\n"


@pytest.mark.parametrize(("code", "expected"), [(GOOD, None), (BROKEN, "the code is broken")])
def test_a_code_servers_load_error_is_read_over_grpc(tmp_path, code, expected):
    (tmp_path / "defs.py").write_text(code)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster",
            "api",
            "grpc",
            "--python-file",
            "defs.py",
            "--port",
            str(port),
            "--lazy-load-user-code",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while (error := compat.location_load_error("127.0.0.1", port, 2)) and error.startswith(
            "unreachable"
        ):
            assert time.monotonic() < deadline, error
            time.sleep(0.5)
        assert error is None if expected is None else expected in error
    finally:
        # A call the client gave up on (its 2 s, while the server first imported Dagster on a
        # cold machine) holds the server's shutdown for its grace period (60 s): failed once.
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    assert compat.location_load_error("127.0.0.1", port, 2).startswith("unreachable")


def test_the_backfill_loop_reads_the_controllers_interval_as_it_starts():
    assert compat.BACKFILL_LOOP_MOVED is None
    assert compat.daemon_controller.DEFAULT_DAEMON_INTERVAL_SECONDS == 30
    source = inspect.getsource(compat.daemon_loops.execute_backfill_iteration_loop)
    assert "from dagster._daemon.controller import DEFAULT_DAEMON_INTERVAL_SECONDS" in source


def test_what_a_standby_needs_to_start_a_run_as_a_new_container_would_is_there():
    # What DockerRunLauncher hands a new container, and the command that runs it.
    assert list(inspect.signature(DockerRunLauncher._get_docker_image).parameters) == [
        "self",
        "job_code_origin",
    ]
    assert list(inspect.signature(DockerRunLauncher._launch_container_with_command).parameters) == [
        "self",
        "run",
        "docker_image",
        "command",
    ]
    assert compat.execute_run_command.name == "execute_run"
    assert compat.DOCKER_IMAGE_TAG == "dagster/image"
    assert "dagster_run" in inspect.signature(compat.LaunchRunContext).parameters
    assert isinstance(compat.LaunchRunContext.job_code_origin, property)
    assert compat.parse_env_var("A=b") == ("A", "b")
    fields = set(inspect.signature(compat.ExecuteRunArgs).parameters)
    assert {"job_origin", "run_id", "instance_ref"} <= fields
    assert "get_command_args" in dir(compat.ExecuteRunArgs)


def test_what_the_prompt_wraps_takes_what_it_passes():
    # stack.prompt runs the queue daemon's iteration with the daemon and its workspace, and
    # hands the backfill loop its own wait by the name of the shutdown event.
    assert compat.QUEUE_MOVED is None
    parameters = inspect.signature(compat.QueuedRunCoordinatorDaemon.run_iteration).parameters
    assert list(parameters)[:2] == ["self", "workspace_process_context"]
    loop = inspect.signature(compat.daemon_loops.execute_backfill_iteration_loop).parameters
    assert "shutdown_event" in loop
