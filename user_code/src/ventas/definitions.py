"""The ventas code location: read this file as its table of contents."""

import dagster as dg

from ventas.defs import assets, checks, jobs, ops, schedules, sensors, settings
from ventas.defs.io_managers import ParquetIOManager
from ventas.defs.resources import DataDirectory

data_dir = settings.data_dir()

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([checks]),
    jobs=[
        jobs.procesar_ventas,
        jobs.unir_clientes,
        jobs.historico_diario,
        jobs.ingerir_ventas,
        ops.informe_ventas,
    ],
    schedules=[
        schedules.procesar_ventas_diario,
        schedules.procesar_ventas_cada_hora,
        schedules.historico_diario_schedule,
    ],
    sensors=[sensors.ventas_entrantes_sensor, sensors.archivar_ventas_entrantes],
    resources={
        "sales_data": DataDirectory(path=data_dir),
        "io_manager": ParquetIOManager(base_dir=data_dir),
        ops.IN_MEMORY: dg.InMemoryIOManager(),
    },
    # Every step of a run in one process: no second or more of interpreter and
    # import start-up per step, and batches stream through one memory budget.
    executor=dg.in_process_executor,
)
