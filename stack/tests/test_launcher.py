"""stack.launcher without Docker: the limits each run container gets, from the
settings or from its job's tags; termination that only marks the run; the events that say every
step of a run was done. (Out-of-memory kills and runs killed after their last step, in Docker:
tests/e2e/test_limits.py, tests/e2e/test_run_lifecycle.py.)"""

import dagster as dg
import pytest
from dagster import DagsterRun, DagsterRunStatus

from stack import standby
from stack.launcher import LimitedDockerRunLauncher
from stack.limits import LimitError


def launcher(**config) -> LimitedDockerRunLauncher:
    return LimitedDockerRunLauncher(**{"memory": "2g", "cpus": "1.5", **config})


def kwargs_for(launcher: LimitedDockerRunLauncher, tags: dict[str, str]) -> dict:
    run = DagsterRun(job_name="procesar_ventas", tags=tags)
    return dict(launcher.get_container_context(run).container_kwargs)


def test_every_run_container_gets_the_settings_limits():
    assert kwargs_for(launcher(container_kwargs={"read_only": True}), {}) == {
        "read_only": True,
        "mem_limit": "2g",
        "memswap_limit": "2g",
        "nano_cpus": 1_500_000_000,
        "pids_limit": 1024,
    }


@pytest.mark.parametrize("prefix", ["stack", "ventas"])  # ventas/: their names before
def test_a_jobs_tags_override_the_limits(prefix):
    given = kwargs_for(launcher(), {f"{prefix}/run_memory": "6G", f"{prefix}/run_cpus": "2"})
    assert (given["mem_limit"], given["memswap_limit"], given["nano_cpus"]) == ("6g", "6g", 2e9)


def test_the_tags_new_name_wins_over_the_former():
    given = kwargs_for(launcher(), {"stack/run_memory": "3g", "ventas/run_memory": "6g"})
    assert given["mem_limit"] == "3g"


@pytest.mark.parametrize("tag", ["stack/run_memory", "ventas/run_memory"])
def test_a_bad_tag_is_named_with_the_fix(tag):
    with pytest.raises(LimitError, match=rf"the tag {tag}='mucha' is not a memory size"):
        kwargs_for(launcher(), {tag: "mucha"})


def test_a_bad_setting_is_named_with_the_fix():
    with pytest.raises(LimitError, match=r"DAGSTER_RUN_CPUS='0' is not a number of CPUs"):
        launcher(cpus="0")


LAUNCHER = {
    "run_launcher": {
        "module": "stack.launcher",
        "class": "LimitedDockerRunLauncher",
        "config": {"memory": "2g", "cpus": "1.5"},
    }
}


@pytest.fixture
def instance(monkeypatch):
    # Any call to Docker would fail: termination must not need one.
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    with dg.instance_for_test(overrides=LAUNCHER) as instance:
        yield instance


def test_terminating_a_run_marks_it_canceling_for_the_daemon_without_docker(instance):
    run = instance.add_run(DagsterRun(job_name="procesar_ventas", status=DagsterRunStatus.STARTED))
    assert instance.run_launcher.terminate(run.run_id)
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.CANCELING
    done = instance.add_run(DagsterRun(job_name="procesar_ventas", status=DagsterRunStatus.SUCCESS))
    assert not instance.run_launcher.terminate(done.run_id)


@dg.asset
def primero() -> int:
    return 1


@dg.asset
def segundo(primero: int) -> int:
    if primero:
        raise ValueError("the second step fails")
    return primero


def test_every_step_done_is_read_from_the_runs_events(instance):
    """What tells a run killed while winding up (every step done) from one killed midway."""
    done = dg.materialize([primero], instance=instance)
    midway = dg.materialize([primero, segundo], instance=instance, raise_on_error=False)
    launcher = instance.run_launcher
    assert launcher._every_step_done(instance.get_run_by_id(done.run_id))
    assert not launcher._every_step_done(instance.get_run_by_id(midway.run_id))


def test_a_standby_fits_only_the_image_and_container_it_was_started_for():
    create = {"labels": {"stack.project": "p"}, "mem_limit": "2g", "environment": {"A": "1"}}
    fits = standby.key("sha256:1", ["A"], ["p_dagster"], create)
    # Another image under the same name (a redeploy), other limits, another network: no.
    assert standby.key("sha256:2", ["A"], ["p_dagster"], create) != fits
    assert standby.key("sha256:1", ["A"], ["p_dagster"], {**create, "mem_limit": "4g"}) != fits
    assert standby.key("sha256:1", ["A"], ["q_dagster"], create) != fits
    # The environment's values are the daemon's, the same for every run it launches.
    assert standby.key("sha256:1", ["A"], ["p_dagster"], {**create, "environment": {}}) == fits


def test_a_negative_standby_time_is_named_with_the_fix():
    with pytest.raises(ValueError, match="DAGSTER_RUN_STANDBY_SECONDS=-1 is negative"):
        launcher(standby_seconds=-1)
