"""The daily history: one partition, and one file, per day of sales. Its days follow the
settings' time zone, read when the definitions are built."""

import dagster as dg
import pandas as pd

from ventas import transforms
from ventas.defs.ventas.assets import VENTAS
from ventas.settings import Settings
from ventas.tables import Table


@dg.definitions
def historico() -> dg.Definitions:
    dias = dg.DailyPartitionsDefinition(
        start_date="2024-01-01", timezone=Settings.from_env().timezone
    )

    @dg.asset(
        group_name=VENTAS,
        kinds={"pandas", "parquet"},
        partitions_def=dias,
        metadata={"partition_column": "fecha"},
        # A backfill of a year is 12 runs of up to 31 days, not 366 runs.
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=31),
    )
    def ventas_diarias(context: dg.AssetExecutionContext, ventas_procesadas: Table) -> pd.DataFrame:
        """The sales of each day, one partition (and one file) per `fecha`."""
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date()
        return pd.concat(
            ventas_procesadas.map_batches(
                lambda ventas: transforms.sales_between(ventas, start, end)
            ),
            ignore_index=True,
        )

    historico_diario = dg.define_asset_job(
        "historico_diario",
        selection=[ventas_diarias],
        description="One day of sales per partition.",
    )
    return dg.Definitions(
        assets=[ventas_diarias],
        jobs=[historico_diario],
        # Each night, the day that has just ended. Off unless turned on.
        schedules=[
            dg.build_schedule_from_partitioned_job(
                historico_diario, name="historico_diario_schedule", hour_of_day=0, minute_of_hour=15
            )
        ],
    )
