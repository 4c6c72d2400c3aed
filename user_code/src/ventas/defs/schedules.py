"""When jobs run by themselves. Times follow VENTAS_TIMEZONE (default UTC); VENTAS_AUTOMATION_ON
decides whether the daily schedule starts running, and the cron variables override the crons."""

import dagster as dg

from ventas.defs import settings
from ventas.defs.jobs import historico_diario, procesar_ventas

SCHEDULE_ON, _ = settings.automation_status()

procesar_ventas_diario = dg.ScheduleDefinition(
    name="procesar_ventas_diario",
    job=procesar_ventas,
    cron_schedule=settings.cron("VENTAS_DAILY_CRON", "0 0 * * *"),
    execution_timezone=settings.timezone(),
    default_status=SCHEDULE_ON,
    description="Every day at midnight.",
)

procesar_ventas_cada_hora = dg.ScheduleDefinition(
    name="procesar_ventas_cada_hora",
    job=procesar_ventas,
    cron_schedule=settings.cron("VENTAS_HOURLY_CRON", "0 * * * *"),
    execution_timezone=settings.timezone(),
    description="Every hour, for a sales file that changes during the day. Off unless turned on.",
)

# Each night, the day that has just ended. Off unless turned on.
historico_diario_schedule = dg.build_schedule_from_partitioned_job(
    historico_diario, name="historico_diario_schedule", hour_of_day=0, minute_of_hour=15
)
