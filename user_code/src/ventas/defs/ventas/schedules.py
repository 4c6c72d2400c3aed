"""When procesar_ventas runs by itself: daily and hourly, as the tutorial teaches. Crons, time
zone and whether they start running come from the settings, read when the definitions are
built."""

import dagster as dg

from ventas.defs.ventas.jobs import procesar_ventas
from ventas.settings import Settings


@dg.definitions
def schedules() -> dg.Definitions:
    settings = Settings.from_env()
    return dg.Definitions(
        schedules=[
            dg.ScheduleDefinition(
                name="procesar_ventas_diario",
                job=procesar_ventas,
                cron_schedule=settings.daily_cron,
                execution_timezone=settings.timezone,
                default_status=settings.schedule_status,
                description="Every day at midnight.",
            ),
            dg.ScheduleDefinition(
                name="procesar_ventas_cada_hora",
                job=procesar_ventas,
                cron_schedule=settings.hourly_cron,
                execution_timezone=settings.timezone,
                description="Every hour, for a sales file that changes during the day. Off unless "
                "turned on.",
            ),
        ]
    )
