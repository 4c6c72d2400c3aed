"""The code location as Dagster loads it: jobs, schedules and what they select."""

import importlib
from datetime import datetime, timezone

import dagster as dg

from ventas.definitions import defs


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def selected(job_name: str) -> set[str]:
    job = defs.resolve_job_def(job_name)
    return {key.to_user_string() for key in job.asset_layer.selected_asset_keys}


def test_jobs_select_their_assets():
    assert selected("procesar_ventas") == {"ventas_raw", "ventas_procesadas",
                                           "ventas_por_categoria", "ventas_por_producto",
                                           "ventas_por_dia"}
    assert selected("unir_clientes") == {"usuarios", "ventas_completas"}
    assert selected("historico_diario") == {"ventas_diarias"}
    assert {n.name for n in defs.resolve_job_def("informe_ventas").nodes} == {
        "extraer_ventas", "calcular_totales", "resumir_por_categoria"}


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
        scheduled_execution_time=datetime(2024, 3, 16, 0, 15, tzinfo=timezone.utc))
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
