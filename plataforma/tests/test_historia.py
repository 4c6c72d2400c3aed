"""purge_history's definitions under each retention setting; what it does to a real instance
is tests/e2e/test_history.py's."""

import dagster as dg
import pytest

import plataforma.definitions
from locationkit.failures import SettingError


def definitions(monkeypatch, days: str | None) -> dg.Definitions:
    if days is None:
        monkeypatch.delenv("DAGSTER_RUN_RETENTION_DAYS", raising=False)
    else:
        monkeypatch.setenv("DAGSTER_RUN_RETENTION_DAYS", days)
    return plataforma.definitions.defs()


def test_runs_are_kept_90_days_by_default_and_purged_every_day(monkeypatch):
    defs = definitions(monkeypatch, None)
    schedule = defs.resolve_schedule_def("purga_diaria")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    op = defs.resolve_job_def("purge_history").graph.node_defs[0]
    assert op.config_schema.config_type.fields["days"].default_value == 90


def test_zero_keeps_every_run_and_has_no_schedule(monkeypatch):
    defs = definitions(monkeypatch, "0")
    assert defs.resolve_job_def("purge_history")
    assert not defs.schedules


def test_a_retention_that_is_not_whole_days_is_the_load_error(monkeypatch):
    with pytest.raises(SettingError, match=r"^DAGSTER_RUN_RETENTION_DAYS='30 days' is not"):
        definitions(monkeypatch, "30 days")
