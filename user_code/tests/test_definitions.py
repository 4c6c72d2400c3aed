import dagster as dg

from ventas.definitions import defs


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_procesar_ventas_selects_the_three_assets_and_runs_daily_at_midnight():
    job = defs.resolve_job_def("procesar_ventas")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == {
        "ventas_raw", "ventas_procesadas", "ventas_por_categoria"}
    schedule = defs.resolve_schedule_def("procesar_ventas_diario")
    assert schedule.cron_schedule == "0 0 * * *"
    assert schedule.job_name == "procesar_ventas"
