"""The weekly report: ventas_por_dia, which the ventas location owns, summed per week."""

import dagster as dg
import duckdb

from informes.resources import Salidas

# An asset of the ventas location, named by its key: the UI draws the lineage across the two
# locations, and this location needs none of ventas' code to read its parquet file.
VENTAS_POR_DIA = dg.AssetKey("ventas_por_dia")


@dg.asset(deps=[VENTAS_POR_DIA], group_name="informes", kinds={"duckdb", "parquet"})
def resumen_semanal(salidas: Salidas) -> dg.MaterializeResult:
    """Sales, units and total per week (weeks start on Monday), from ventas_por_dia."""
    source = salidas.table("ventas_por_dia")
    if not source.exists():
        # Shown first as "FileNotFoundError: ...", not after a Dagster class (ventas.failures
        # explains how); not retried.
        missing = type("FileNotFoundError", (dg.Failure,), {"__module__": "builtins"})
        raise missing(
            f"{source} does not exist: materialize ventas_por_dia first (the procesar_ventas "
            "job of the ventas location).",
            allow_retries=False,
        )
    path = salidas.write(
        f"""SELECT CAST(date_trunc('week', fecha) AS DATE) AS semana,
                   sum(ventas) AS ventas, sum(cantidad) AS cantidad, sum(total) AS total
            FROM read_parquet('{source}') GROUP BY semana ORDER BY semana""",
        "resumen_semanal",
    )
    rows, first = duckdb.execute(
        f"SELECT count(*), min(semana) FROM read_parquet('{path}')"
    ).fetchone() or (0, None)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "first week": str(first),
            "path": dg.MetadataValue.path(str(path)),
        }
    )


informe_semanal = dg.define_asset_job(
    "informe_semanal",
    selection=[resumen_semanal],
    description="The weekly report, from the ventas location's daily totals.",
)
