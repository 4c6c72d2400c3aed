"""The code location as Dagster loads it: jobs, schedules and what they select."""

import importlib
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pytest

from ventas.definitions import defs


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def selected(job_name: str) -> set[str]:
    job = defs.resolve_job_def(job_name)
    return {key.to_user_string() for key in job.asset_layer.selected_asset_keys}


def test_jobs_select_their_assets():
    assert selected("procesar_ventas") == {
        "ventas_raw",
        "ventas_procesadas",
        "ventas_por_categoria",
        "ventas_por_producto",
        "ventas_por_dia",
    }
    assert selected("unir_clientes") == {"usuarios", "ventas_completas"}
    assert selected("historico_diario") == {"ventas_diarias"}
    assert {n.name for n in defs.resolve_job_def("informe_ventas").nodes} == {
        "extraer_ventas",
        "calcular_totales",
        "resumir_por_categoria",
    }


def test_the_three_summaries_are_parallel_branches_of_ventas_procesadas():
    graph = defs.resolve_asset_graph()
    children = {k.to_user_string() for k in graph.get(dg.AssetKey("ventas_procesadas")).child_keys}
    assert {"ventas_por_categoria", "ventas_por_producto", "ventas_por_dia"} <= children


def test_daily_and_hourly_schedules_keep_the_tutorials_crons():
    daily = defs.resolve_schedule_def("procesar_ventas_diario")
    hourly = defs.resolve_schedule_def("procesar_ventas_cada_hora")
    assert (daily.cron_schedule, daily.job_name) == ("0 0 * * *", "procesar_ventas")
    assert (hourly.cron_schedule, hourly.job_name) == ("0 * * * *", "procesar_ventas")


def test_the_partitioned_schedule_asks_for_the_day_that_ended():
    schedule = defs.resolve_schedule_def("historico_diario_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 3, 16, 0, 15, tzinfo=UTC)
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2024-03-15"


def test_the_timezone_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("VENTAS_TIMEZONE", "Europe/Madrid")
    from ventas.defs import schedules

    try:
        reloaded = importlib.reload(schedules)
        assert reloaded.procesar_ventas_diario.execution_timezone == "Europe/Madrid"
    finally:
        monkeypatch.delenv("VENTAS_TIMEZONE")
        importlib.reload(schedules)


def run_job(name: str, resources: dict, **kwargs) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        return defs.resolve_job_def(name).execute_in_process(
            resources=resources, instance=instance, **kwargs
        )


@pytest.mark.parametrize("name", [s.name for s in defs.schedules])
def test_each_schedules_tick_runs_its_job_on_the_sample(name, data_dir, resources):
    """What the daemon does at a tick: evaluate the schedule, then run what it requests."""
    schedule = defs.resolve_schedule_def(name)
    run_job("procesar_ventas", resources)  # the partitioned history reads the clean sales
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 3, 16, 0, 15, tzinfo=UTC)
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    result = run_job(
        schedule.job_name, resources, partition_key=request.partition_key, tags=request.tags
    )
    assert result.success
    written = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert written == selected(schedule.job_name)


def test_the_join_job_adds_the_customers_to_every_clean_sale(data_dir, resources):
    run_job("procesar_ventas", resources)
    assert run_job("unir_clientes", resources).success
    completas = pd.read_parquet(data_dir / "output" / "ventas_completas.parquet")
    procesadas = pd.read_parquet(data_dir / "output" / "ventas_procesadas.parquet")
    assert len(completas) == len(procesadas) and completas["ciudad"].notna().all()
