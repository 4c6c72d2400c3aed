"""The ventas code location: read this file as its table of contents."""

import dagster as dg

from ventas.defs.assets import ventas_por_categoria, ventas_procesadas, ventas_raw
from ventas.defs.io_managers import ParquetIOManager
from ventas.defs.jobs import procesar_ventas
from ventas.defs.resources import SalesData
from ventas.defs.schedules import procesar_ventas_diario

data_dir = dg.EnvVar("VENTAS_DATA_DIR")

defs = dg.Definitions(
    assets=[ventas_raw, ventas_procesadas, ventas_por_categoria],
    jobs=[procesar_ventas],
    schedules=[procesar_ventas_diario],
    resources={
        "sales_data": SalesData(base_dir=data_dir),
        "io_manager": ParquetIOManager(base_dir=data_dir),
    },
    # One process runs every step: no per-step interpreter start-up.
    executor=dg.in_process_executor,
)
