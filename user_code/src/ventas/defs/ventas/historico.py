"""The daily history: one partition, and one file, per day of sales. Its days follow the
settings' time zone, read when the definitions are built."""

import dagster as dg

from ventas.defs.ventas.assets import VENTAS
from ventas.settings import Settings
from ventas.tables import Batches, Table


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
        # A backfill is one run, whatever its days: the clean sales read once, their days in
        # order, each day's file written as soon as its rows are complete (docs/benchmarks.md).
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def ventas_diarias(context: dg.AssetExecutionContext, ventas_procesadas: Table) -> Batches:
        """The sales of each day, one partition (and one file) per `fecha`."""
        window = context.partition_time_window
        return ventas_procesadas.between("fecha", window.start.date(), window.end.date())

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
