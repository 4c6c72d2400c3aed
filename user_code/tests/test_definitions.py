"""The code location as Dagster loads it: what it defines, the settings it is built with, and
each schedule's tick run through to its job's outputs."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pytest

import ventas.definitions
from ventas.settings import SettingError

ASSETS = {
    "ventas_raw",
    "ventas_procesadas",
    "ventas_por_categoria",
    "ventas_por_producto",
    "ventas_por_dia",
    "usuarios",
    "ventas_completas",
    "ventas_diarias",
    "ventas_entrantes",
}
CHECKS = {
    "columnas_requeridas",
    "precio_no_negativo",
    "cantidad_entera_positiva",
    "proporcion_de_nulos",
}
JOBS = {"procesar_ventas", "unir_clientes", "historico_diario", "ingerir_ventas", "informe_ventas"}
SCHEDULES = ["procesar_ventas_diario", "procesar_ventas_cada_hora", "historico_diario_schedule"]
SENSORS = {"ventas_entrantes_sensor", "archivar_ventas_entrantes"}


def test_the_definitions_load_with_everything_the_tutorial_teaches(defs):
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == ASSETS
    assert {key.name for key in graph.asset_check_keys} == CHECKS
    assert {job.name for job in defs.resolve_all_job_defs()} >= JOBS
    assert sorted(s.name for s in defs.schedules) == sorted(SCHEDULES)
    assert {s.name for s in defs.sensors} == SENSORS


def selected(defs, job_name: str) -> set[str]:
    job = defs.resolve_job_def(job_name)
    return {key.to_user_string() for key in job.asset_layer.selected_asset_keys}


def test_jobs_select_their_assets(defs):
    assert selected(defs, "procesar_ventas") == {
        "ventas_raw",
        "ventas_procesadas",
        "ventas_por_categoria",
        "ventas_por_producto",
        "ventas_por_dia",
    }
    assert selected(defs, "unir_clientes") == {"usuarios", "ventas_completas"}
    assert selected(defs, "historico_diario") == {"ventas_diarias"}
    assert selected(defs, "ingerir_ventas") == {"ventas_entrantes"}
    assert {n.name for n in defs.resolve_job_def("informe_ventas").nodes} == {
        "extraer_ventas",
        "calcular_totales",
        "resumir_por_categoria",
    }


def test_the_three_summaries_are_parallel_branches_of_ventas_procesadas(defs):
    graph = defs.resolve_asset_graph()
    children = {k.to_user_string() for k in graph.get(dg.AssetKey("ventas_procesadas")).child_keys}
    assert {"ventas_por_categoria", "ventas_por_producto", "ventas_por_dia"} <= children


def test_daily_and_hourly_schedules_keep_the_tutorials_crons(defs):
    daily = defs.resolve_schedule_def("procesar_ventas_diario")
    hourly = defs.resolve_schedule_def("procesar_ventas_cada_hora")
    assert (daily.cron_schedule, daily.job_name) == ("0 0 * * *", "procesar_ventas")
    assert (hourly.cron_schedule, hourly.job_name) == ("0 * * * *", "procesar_ventas")
    assert daily.default_status == dg.DefaultScheduleStatus.RUNNING
    assert hourly.default_status == dg.DefaultScheduleStatus.STOPPED


def test_the_partitioned_schedule_asks_for_the_day_that_ended(defs):
    schedule = defs.resolve_schedule_def("historico_diario_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 3, 16, 0, 15, tzinfo=UTC)
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2024-03-15"


def test_the_settings_are_read_when_the_definitions_are_built(default_settings, monkeypatch):
    monkeypatch.setenv("VENTAS_TIMEZONE", "Europe/Madrid")
    monkeypatch.setenv("VENTAS_DAILY_CRON", "30 6 * * *")
    monkeypatch.setenv("VENTAS_AUTOMATION_ON", "false")
    monkeypatch.setenv("VENTAS_SENSOR_INTERVAL", "3")
    defs = ventas.definitions.defs()
    daily = defs.resolve_schedule_def("procesar_ventas_diario")
    assert (daily.cron_schedule, daily.execution_timezone) == ("30 6 * * *", "Europe/Madrid")
    assert daily.default_status == dg.DefaultScheduleStatus.STOPPED
    sensor = defs.resolve_sensor_def("ventas_entrantes_sensor")
    assert sensor.minimum_interval_seconds == 3
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    days = defs.resolve_assets_def("ventas_diarias").partitions_def
    assert days.timezone == "Europe/Madrid"


@pytest.mark.parametrize(
    "variable, value, expected",
    [
        ("VENTAS_TIMEZONE", "Madrid", "is not a time zone"),
        ("VENTAS_AUTOMATION_ON", "maybe", "use true or false"),
        ("VENTAS_SENSOR_INTERVAL", "soon", "whole number of seconds"),
    ],
)
def test_a_bad_setting_stops_the_definitions_naming_the_variable_and_what_it_accepts(
    default_settings, monkeypatch, variable, value, expected
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingError, match=f"{variable}=.*{expected}"):
        ventas.definitions.defs()


def run_job(defs, name: str, resources: dict, **kwargs) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        return defs.resolve_job_def(name).execute_in_process(
            resources=resources, instance=instance, **kwargs
        )


@pytest.mark.parametrize("name", SCHEDULES)
def test_each_schedules_tick_runs_its_job_on_the_sample(defs, name, data_dir, resources):
    """What the daemon does at a tick: evaluate the schedule, then run what it requests."""
    schedule = defs.resolve_schedule_def(name)
    run_job(defs, "procesar_ventas", resources)  # the partitioned history reads the clean sales
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2024, 3, 16, 0, 15, tzinfo=UTC)
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    result = run_job(
        defs, schedule.job_name, resources, partition_key=request.partition_key, tags=request.tags
    )
    assert result.success
    written = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert written == selected(defs, schedule.job_name)


def test_the_join_job_adds_the_customers_to_every_clean_sale(defs, data_dir, resources):
    run_job(defs, "procesar_ventas", resources)
    assert run_job(defs, "unir_clientes", resources).success
    completas = pd.read_parquet(data_dir / "output" / "ventas_completas.parquet")
    procesadas = pd.read_parquet(data_dir / "output" / "ventas_procesadas.parquet")
    assert len(completas) == len(procesadas) and completas["ciudad"].notna().all()
