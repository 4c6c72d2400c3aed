from __future__ import annotations

import dagster as dg

from ventas.defs.jobs import procesar_ventas

procesar_ventas_diario = dg.ScheduleDefinition(
    name="procesar_ventas_diario",
    job=procesar_ventas,
    cron_schedule="0 0 * * *",
)
