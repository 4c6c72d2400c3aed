"""When jobs run by themselves. Times follow VENTAS_TIMEZONE (default UTC)."""

import dagster as dg

from ventas.defs.jobs import historico_diario, procesar_ventas
from ventas.defs.resources import timezone_setting

procesar_ventas_diario = dg.ScheduleDefinition(
    name="procesar_ventas_diario",
    job=procesar_ventas,
    cron_schedule="0 0 * * *",
    execution_timezone=timezone_setting(),
    description="Every day at midnight.",
)

procesar_ventas_cada_hora = dg.ScheduleDefinition(
    name="procesar_ventas_cada_hora",
    job=procesar_ventas,
    cron_schedule="0 * * * *",
    execution_timezone=timezone_setting(),
    description="Every hour, for a sales file that changes during the day. Off unless turned on.",
)

# Each night, the day that has just ended.
historico_diario_schedule = dg.build_schedule_from_partitioned_job(
    historico_diario, name="historico_diario_schedule", hour_of_day=0, minute_of_hour=15)
