"""deploy/ventas_launcher.py without Docker: the limits each run container gets, from the
settings or from its job's tags. (An out-of-memory kill, in Docker: tests/e2e/test_limits.py.)"""

import pytest
from dagster._core.storage.dagster_run import DagsterRun

from ventas_launcher import LimitedDockerRunLauncher
from ventas_limits import LimitError


def launcher(**config) -> LimitedDockerRunLauncher:
    return LimitedDockerRunLauncher(**{"memory": "2g", "cpus": "1.5", **config})


def kwargs_for(launcher: LimitedDockerRunLauncher, tags: dict[str, str]) -> dict:
    run = DagsterRun(job_name="procesar_ventas", tags=tags)
    return dict(launcher.get_container_context(run).container_kwargs)


def test_every_run_container_gets_the_settings_limits():
    assert kwargs_for(launcher(container_kwargs={"auto_remove": True}), {}) == {
        "auto_remove": True,
        "mem_limit": "2g",
        "memswap_limit": "2g",
        "nano_cpus": 1_500_000_000,
        "pids_limit": 1024,
    }


def test_a_jobs_tags_override_the_limits():
    given = kwargs_for(launcher(), {"ventas/run_memory": "6G", "ventas/run_cpus": "2"})
    assert (given["mem_limit"], given["memswap_limit"], given["nano_cpus"]) == ("6g", "6g", 2e9)


def test_a_bad_tag_is_named_with_the_fix():
    with pytest.raises(LimitError, match=r"the tag ventas/run_memory='mucha' is not a memory size"):
        kwargs_for(launcher(), {"ventas/run_memory": "mucha"})


def test_a_bad_setting_is_named_with_the_fix():
    with pytest.raises(LimitError, match=r"DAGSTER_RUN_CPUS='0' is not a number of CPUs"):
        launcher(cpus="0")
