"""purge_history: every day, the finished runs older than DAGSTER_RUN_RETENTION_DAYS deleted
with their event logs and compute logs, keeping what the asset catalog reads
(stack.history). What it deleted, and the database's size before and after, are the run's
metadata; none of it when the setting is 0."""

import dagster as dg
import sqlalchemy as db
from sqlalchemy.pool import NullPool

from plataforma.settings import Settings
from stack import compat, history

# 03:00 in the instance's time zone, when runs are fewest.
CRON = "0 3 * * *"


def purge_op(days: int) -> dg.OpDefinition:
    @dg.op(
        name="purgar_historial",
        config_schema={
            "days": dg.Field(
                int,
                default_value=days,
                description="Finished runs last updated more than this many days ago are "
                "deleted (DAGSTER_RUN_RETENTION_DAYS); 0 deletes nothing.",
            ),
            "batch": dg.Field(
                int,
                default_value=history.BATCH,
                description="Runs deleted per transaction.",
            ),
        },
    )
    def purgar_historial(context: dg.OpExecutionContext) -> dg.Output[None]:
        days = context.op_config["days"]
        if days == 0:
            return dg.Output(None, metadata={"retention": "off: every run is kept"})
        engine = db.create_engine(compat.postgres_url(context.instance), poolclass=NullPool)
        logs = context.instance.compute_log_manager
        try:
            purged = history.purge(
                engine,
                days,
                delete_logs=lambda run_id: logs.delete_logs(prefix=[run_id]),
                own_run_id=context.run_id,
                batch=context.op_config["batch"],
            )
        finally:
            engine.dispose()
        context.log.info(
            f"Deleted {purged.runs} runs older than {days} days and {purged.events} events; "
            f"kept {purged.kept} old runs the asset catalog reads."
        )
        return dg.Output(
            None,
            metadata={
                "runs deleted": purged.runs,
                "events deleted": purged.events,
                "old runs kept for the catalog": purged.kept,
                "database size before": dg.MetadataValue.int(purged.size_before),
                "database size after": dg.MetadataValue.int(purged.size_after),
                "tables compacted": ", ".join(purged.compacted) or "none",
                "seconds": dg.MetadataValue.float(round(purged.seconds, 1)),
            },
        )

    return purgar_historial


@dg.definitions
def purge() -> dg.Definitions:
    days = Settings.from_env().run_retention_days
    op = purge_op(days)

    @dg.job(
        name="purge_history",
        description="Deletes the finished runs older than DAGSTER_RUN_RETENTION_DAYS, their "
        "event logs and compute logs, keeping each asset's latest materialization, every "
        "partition's status and the checks' results.",
        tags={"dagster/max_retries": "0"},
    )
    def purge_history() -> None:
        op()

    schedules = []
    if days:
        schedules.append(
            dg.ScheduleDefinition(
                name="purga_diaria",
                job=purge_history,
                cron_schedule=CRON,
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description=f"purge_history every day at 03:00: runs kept {days} days.",
            )
        )
    return dg.Definitions(jobs=[purge_history], schedules=schedules)
