"""The weekly report: ventas_por_dia, which the ventas location owns, summed per week."""

import dagster as dg
import duckdb

from locationkit.data import DataDirectory
from locationkit.failures import user_failure
from locationkit.files import replacing

# An asset of the ventas location, named by its key: the UI draws the lineage across the two
# locations, and this location needs none of ventas' code to read its parquet file.
VENTAS_POR_DIA = dg.AssetKey("ventas_por_dia")
WEEKLY = """
    SELECT CAST(date_trunc('week', fecha) AS DATE) AS semana,
           sum(ventas) AS ventas, sum(cantidad) AS cantidad, sum(total) AS total
    FROM read_parquet($source) GROUP BY semana ORDER BY semana"""


@dg.asset(deps=[VENTAS_POR_DIA], group_name="informes", kinds={"duckdb", "parquet"})
def resumen_semanal(data_dir: DataDirectory) -> dg.MaterializeResult:
    """Sales, units and total per week (weeks start on Monday), from ventas_por_dia."""
    source = data_dir.output(*VENTAS_POR_DIA.path)
    if not source.exists():
        raise user_failure(
            "FileNotFoundError",
            f"{source} does not exist: materialize ventas_por_dia first (the procesar_ventas "
            "job of the ventas location).",
        )
    path = data_dir.output("informes", "resumen_semanal")
    # File paths go to DuckDB as parameters, never inside the SQL's text.
    with duckdb.connect() as connection, replacing(path) as tmp:
        connection.sql(WEEKLY, params={"source": str(source)}).write_parquet(str(tmp))
    with duckdb.connect() as connection:
        rows, first = connection.execute(
            "SELECT count(*), min(semana) FROM read_parquet($path)", {"path": str(path)}
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
